// Builders for Summary.Value objects in the "modern" (tensor + plugin metadata) forms current TensorBoard writers
// emit. Each returns a plain object for protobufjs `fromObject`; metadata goes on every value because readers decide
// a series' plugin from the first value they happen to see.
import { DT } from './protos.ts';

export interface SummaryValueObject {
  tag: string;
  metadata?: {
    plugin_data: { plugin_name: string; content: Uint8Array };
    display_name?: string;
    summary_description?: string;
  };
  tensor?: TensorObject;
  simple_value?: number;
}

export interface TensorObject {
  dtype: number;
  tensor_shape: { dim?: { size: number }[] };
  float_val?: number[];
  string_val?: Uint8Array[];
  tensor_content?: Uint8Array;
}

const EMPTY = new Uint8Array(0);

export function pluginMetadata(pluginName: string, content: Uint8Array = EMPTY, description?: string) {
  return {
    plugin_data: { plugin_name: pluginName, content },
    ...(description ? { summary_description: description } : {}),
  };
}

export function checkTag(tag: string): void {
  if (typeof tag !== 'string' || tag.length === 0) {
    throw new Error(`summary tag must be a non-empty string, got ${JSON.stringify(tag)}`);
  }
}

/** Scalar as a rank-0 DT_FLOAT tensor (the default TensorBoard server drops DT_DOUBLE scalars). NaN/±Inf kept. */
export function scalarValue(tag: string, value: number, description?: string): SummaryValueObject {
  checkTag(tag);
  if (typeof value !== 'number') {
    throw new Error(
      `scalar "${tag}": value must be a number, got ${typeof value}; convert it (e.g. Number(x)) first`,
    );
  }
  return {
    tag,
    metadata: pluginMetadata('scalars', EMPTY, description),
    tensor: { dtype: DT.FLOAT, tensor_shape: {}, float_val: [value] },
  };
}

/**
 * Scalar in the legacy `simple_value` form (float32, no metadata). Every reader shows it as a scalar, and the standalone
 * `EventAccumulator` purges it on SessionLog START (it never purges `Tensors()`, where the modern form lives), so
 * after a resume all three readers show one value per step.
 */
export function legacyScalarValue(tag: string, value: number): SummaryValueObject {
  checkTag(tag);
  if (typeof value !== 'number') {
    throw new Error(
      `scalar "${tag}": value must be a number, got ${typeof value}; convert it (e.g. Number(x)) first`,
    );
  }
  return { tag, simple_value: value };
}

/** The two encodings a scalar can be written in; see scalarValue and legacyScalarValue. */
export type ScalarForm = 'tensor' | 'simple_value';

/** Markdown text as a rank-0 DT_STRING tensor. Strings go in as UTF-8 bytes: protobufjs reads JS strings in bytes fields as base64. */
export function textValue(tag: string, markdown: string): SummaryValueObject {
  checkTag(tag);
  if (typeof markdown !== 'string')
    throw new Error(`text "${tag}": value must be a string, got ${typeof markdown}`);
  return {
    tag,
    metadata: pluginMetadata('text'),
    tensor: { dtype: DT.STRING, tensor_shape: {}, string_val: [Buffer.from(markdown, 'utf8')] },
  };
}

/** Images as a rank-1 DT_STRING tensor: ["<width>", "<height>", png_1, ..., png_k] (width first, decimal text). */
export function imageValue(
  tag: string,
  width: number,
  height: number,
  pngs: Uint8Array[],
): SummaryValueObject {
  checkTag(tag);
  if (pngs.length === 0) throw new Error(`image "${tag}": need at least one image`);
  return {
    tag,
    metadata: pluginMetadata('images'),
    tensor: {
      dtype: DT.STRING,
      tensor_shape: { dim: [{ size: pngs.length + 2 }] },
      string_val: [Buffer.from(String(width), 'utf8'), Buffer.from(String(height), 'utf8'), ...pngs],
    },
  };
}

/** Histogram buckets as a [k, 3] DT_DOUBLE tensor of rows [left, right, count], stored as raw little-endian bytes. */
export function histogramValue(tag: string, buckets: HistogramBuckets): SummaryValueObject {
  checkTag(tag);
  const k = buckets.counts.length;
  const raw = Buffer.allocUnsafe(k * 3 * 8);
  for (let i = 0; i < k; i++) {
    raw.writeDoubleLE(buckets.edges[i], i * 24);
    raw.writeDoubleLE(buckets.edges[i + 1], i * 24 + 8);
    raw.writeDoubleLE(buckets.counts[i], i * 24 + 16);
  }
  return {
    tag,
    metadata: pluginMetadata('histograms'),
    tensor: { dtype: DT.DOUBLE, tensor_shape: { dim: [{ size: k }, { size: 3 }] }, tensor_content: raw },
  };
}

export interface HistogramBuckets {
  /** k + 1 bucket edges, increasing. */
  edges: number[];
  /** k counts. */
  counts: number[];
}
