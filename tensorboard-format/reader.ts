// Reads event files written by us or by TensorBoard/TensorFlow: TFRecord framing with both CRCs checked, then each
// payload decoded to a plain Event object (snake_case fields, steps as numbers, enums as names, bytes as Buffers).
import { readFile } from 'node:fs/promises';
import { EventProto } from './protos.ts';
import { parseRecords, type TruncatedTail } from './record.ts';

export interface TensorData {
  dtype?: string;
  tensor_shape?: { dim?: { size?: number; name?: string }[]; unknown_rank?: boolean };
  tensor_content?: Buffer;
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  int64_val?: number[];
  string_val?: Buffer[];
  bool_val?: boolean[];
}

export interface SummaryValueData {
  tag: string;
  metadata?: {
    plugin_data?: { plugin_name?: string; content?: Buffer };
    display_name?: string;
    summary_description?: string;
  };
  value?: 'simple_value' | 'image' | 'histo' | 'tensor' | 'audio' | 'obsolete_old_style_histogram';
  simple_value?: number;
  image?: { height?: number; width?: number; colorspace?: number; encoded_image_string?: Buffer };
  histo?: {
    min?: number;
    max?: number;
    num?: number;
    sum?: number;
    sum_squares?: number;
    bucket_limit?: number[];
    bucket?: number[];
  };
  tensor?: TensorData;
}

export interface EventData {
  wall_time: number;
  step: number;
  what?: string;
  file_version?: string;
  summary?: { value: SummaryValueData[] };
  session_log?: { status?: string; checkpoint_path?: string; msg?: string };
  source_metadata?: { writer?: string };
  graph_def?: Buffer;
  [other: string]: unknown;
}

export interface EventFileContents {
  events: EventData[];
  /** Present when the file ends inside a record (a crashed or still-running writer); `events` holds all before it. */
  truncatedTail?: TruncatedTail;
}

export function decodeEvent(payload: Uint8Array): EventData {
  const object = EventProto.toObject(EventProto.decode(payload), {
    longs: Number,
    enums: String,
    oneofs: true,
    arrays: false,
  });
  const event = object as EventData;
  event.wall_time ??= 0;
  event.step ??= 0;
  if (event.summary) event.summary.value ??= [];
  return event;
}

/** Parses a whole event file held in memory; `source` names it in errors. */
export function decodeEventFile(data: Buffer, source = 'event data'): EventFileContents {
  const { payloads, truncatedTail } = parseRecords(data, source);
  const events = payloads.map((payload, index) => {
    try {
      return decodeEvent(payload);
    } catch (error) {
      throw new Error(
        `${source}: record ${index} passed its CRCs but is not an Event: ${(error as Error).message}`,
        { cause: error },
      );
    }
  });
  return truncatedTail ? { events, truncatedTail } : { events };
}

export async function readEventFile(path: string): Promise<EventFileContents> {
  return decodeEventFile(await readFile(path), path);
}
