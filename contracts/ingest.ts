// Inputs, outputs and the progress query of the ingest workflow. Bundled into the workflow sandbox: deterministic, no Node APIs.
import { defineQuery } from '@temporalio/workflow';

export const BAD_FILE_REASONS = [
  'empty',
  'not-an-image',
  'unsupported-format',
  'truncated',
  'too-many-pixels',
  'unreadable',
] as const;
export type BadFileReason = (typeof BAD_FILE_REASONS)[number];

export interface ImageRecord {
  key: string;
  size: number;
  format: string;
  width: number;
  height: number;
  channels: number;
  bitDepth: number;
}

export interface BadFile {
  key: string;
  size: number;
  reason: BadFileReason;
  message: string;
}

export interface IngestCounts {
  files: number;
  images: number;
  bad: number;
  bytes: number;
  byFormat: Record<string, number>;
  byReason: Partial<Record<BadFileReason, number>>;
}

export interface IngestOptions {
  /** Files per inspection activity; each chunk is one manifest part. */
  chunkSize?: number;
  /** Inspection activities running at once. */
  parallelChunks?: number;
  /** Chunks handled by one workflow run before it continues as new (keeps history small). */
  chunksPerRun?: number;
  /** Images with more pixels than this are rejected (sharp's own default limit is 0x3FFF * 0x3FFF). */
  maxPixels?: number;
  /** How long the server waits for a heartbeat before it retries an inspection on another worker. */
  heartbeatTimeoutMs?: number;
}

export interface IngestInput extends IngestOptions {
  /** A folder path or s3://bucket/prefix. */
  source: string;
  /** Carried across continue-as-new; callers leave it out. */
  carried?: IngestCarriedState;
}

export interface IngestCarriedState {
  total: number;
  cursor: string;
  parts: number;
  counts: IngestCounts;
  badSample: BadFile[];
  startedAt: number;
}

export interface IngestProgress {
  phase: 'counting' | 'inspecting' | 'writing-manifest' | 'done';
  total: number;
  inspected: number;
  images: number;
  bad: number;
}

export interface IngestSummary {
  runId: string;
  source: string;
  /** Storage key of the manifest index; parts are listed inside it. */
  manifestKey: string;
  counts: IngestCounts;
  /** The first bad files found, with reasons (all of them are in the manifest). */
  badSample: BadFile[];
  parts: number;
  durationMs: number;
}

export const ingestProgressQuery = defineQuery<IngestProgress>('ingestProgress');

export function emptyCounts(): IngestCounts {
  return { files: 0, images: 0, bad: 0, bytes: 0, byFormat: {}, byReason: {} };
}

export function addCounts(into: IngestCounts, more: IngestCounts): IngestCounts {
  into.files += more.files;
  into.images += more.images;
  into.bad += more.bad;
  into.bytes += more.bytes;
  for (const [format, n] of Object.entries(more.byFormat)) into.byFormat[format] = (into.byFormat[format] ?? 0) + n;
  for (const [reason, n] of Object.entries(more.byReason) as [BadFileReason, number][]) {
    into.byReason[reason] = (into.byReason[reason] ?? 0) + n;
  }
  return into;
}

export const BAD_SAMPLE_LIMIT = 100;
