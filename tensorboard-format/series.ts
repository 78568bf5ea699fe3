// Extracts per-tag series from decoded events, accepting both the modern (tensor + plugin metadata) and the legacy
// (simple_value) scalar forms, so files from TensorFlow, tensorboardX and our writer all read the same way.
import type { EventData, TensorData } from './reader.ts';

export interface ScalarPoint {
  step: number;
  wallTime: number;
  value: number;
}

/** Numbers held by a numeric tensor, whichever of tensor_content or the typed lists carries them. */
export function tensorNumbers(tensor: TensorData): number[] {
  const content = tensor.tensor_content;
  if (content && content.length > 0) {
    const view = new DataView(content.buffer, content.byteOffset, content.byteLength);
    const read: Record<string, [number, (o: number) => number]> = {
      DT_FLOAT: [4, (o) => view.getFloat32(o, true)],
      DT_DOUBLE: [8, (o) => view.getFloat64(o, true)],
      DT_INT32: [4, (o) => view.getInt32(o, true)],
      DT_INT64: [8, (o) => Number(view.getBigInt64(o, true))],
      DT_UINT8: [1, (o) => view.getUint8(o)],
    };
    const reader = read[tensor.dtype ?? ''];
    if (!reader) throw new Error(`tensor of dtype ${tensor.dtype} cannot be read as numbers`);
    const [size, get] = reader;
    return Array.from({ length: content.length / size }, (_, i) => get(i * size));
  }
  return tensor.float_val ?? tensor.double_val ?? tensor.int_val ?? tensor.int64_val ?? [];
}

/** Dimension sizes of a tensor ([] = rank 0). */
export function tensorShape(tensor: TensorData): number[] {
  return (tensor.tensor_shape?.dim ?? []).map((d) => d.size ?? 0);
}

/**
 * Scalar series per tag, in file order. A tag counts as scalar when it uses simple_value, or when the first value
 * of that tag carrying metadata names the "scalars" plugin (TensorFlow attaches metadata only to a tag's first value).
 */
export function scalarSeries(events: EventData[]): Map<string, ScalarPoint[]> {
  const pluginByTag = new Map<string, string>();
  const series = new Map<string, ScalarPoint[]>();
  for (const event of events) {
    for (const value of event.summary?.value ?? []) {
      const plugin = value.metadata?.plugin_data?.plugin_name;
      if (plugin !== undefined && !pluginByTag.has(value.tag)) pluginByTag.set(value.tag, plugin);
      let number: number | undefined;
      if (value.value === 'simple_value') number = value.simple_value ?? 0;
      else if (value.tensor && pluginByTag.get(value.tag) === 'scalars')
        number = tensorNumbers(value.tensor)[0];
      if (number === undefined) continue;
      let points = series.get(value.tag);
      if (!points) series.set(value.tag, (points = []));
      points.push({ step: event.step, wallTime: event.wall_time, value: number });
    }
  }
  return series;
}
