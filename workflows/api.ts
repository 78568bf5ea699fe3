/**
 * Every workflow's name, input, output, signals and queries, declared once. The CLI, workers and tests
 * import from here; this file is also bundled into the workflow sandbox, so it must stay deterministic.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const TASK_QUEUES = {
  /** Compute: training, embedding, fine-tuning. One activity at a time per device by default. */
  gpu: 'patchwork-gpu',
  /** Listing, ingest, exports. */
  io: 'patchwork-io',
} as const;
export type TaskQueue = (typeof TASK_QUEUES)[keyof typeof TASK_QUEUES];

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

// ---- pretraining -------------------------------------------------------------------------------------------------


export const PRETRAIN_METHODS = ['deepcluster', 'iic', 'context-encoder'] as const;
export type PretrainMethod = (typeof PRETRAIN_METHODS)[number];

export interface PretrainInput {
  method: PretrainMethod;
  /** A folder or s3://bucket/prefix of training images. */
  images: string;
  /** Input, augmentation and method options (validated by the prepare activity; errors name the field). */
  config?: Record<string, unknown>;
  /** Optional CSV (filepath,label) for downstream monitoring at the end of every epoch. */
  labels?: string;
  /** Optional folder or s3:// location of test images: out-of-sample losses (and inpaintings) every epoch. */
  testImages?: string;
  /** Embed every training image with the exported model after training (child embedWorkflow); default true. */
  embed?: boolean;
  epochs: number;
  seed?: number;
  /** Steps per training activity; a checkpoint is written at the end of each (and every checkpointEvery steps). */
  stepsPerActivity?: number;
  checkpointEvery?: number;
  /** Training activities per workflow run before it continues as new. */
  activitiesPerRun?: number;
  heartbeatTimeoutMs?: number;
  carried?: PretrainCarried;
}

export interface PretrainPlan {
  files: number;
  stepsPerEpoch: number;
  /** Images loaded per step (IIC: ceil(batch_size / r), repeated to batch_size pairs); missing in older plans: batch_size. */
  imagesPerStep?: number;
  totalSteps: number;
  /** Epochs between k-means refits: 1 for DeepCluster (whose epoch is already mult * N samples), 0 for other methods. */
  refitEvery: number;
  hasLabels: boolean;
  /** Test images used for out-of-sample losses (0: none; missing in plans made before test images existed). */
  testFiles?: number;
}

export interface PretrainCarried {
  plan: PretrainPlan;
  step: number;
  epoch: number;
  lr?: number;
  paused: boolean;
  stopRequested: boolean;
  lastMetrics: Record<string, number>;
  startedAt: number;
  refittedEpoch: number;
  evaluatedEpoch: number;
  testedEpoch?: number;
}

export interface PretrainProgress {
  phase: 'preparing' | 'refitting' | 'training' | 'evaluating' | 'paused' | 'exporting' | 'embedding' | 'done' | 'stopped';
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  losses: Record<string, number>;
  learningRate?: number;
  /** Seconds left at the recent pace; undefined until there is a pace. */
  etaSeconds?: number;
}

export interface PretrainResult {
  runId: string;
  steps: number;
  epochs: number;
  stopped: boolean;
  /** Store key of the exported feature extractor (tfjs model.json + weights). */
  modelKey: string;
  lastMetrics: Record<string, number>;
  /** The embedding of the training images with the exported model (absent with embed: false). */
  embeddings?: { workflowId: string; modelHash: string; prefix: string; total: number; embedded: number };
}

export const pretrainProgressQuery = defineQuery<PretrainProgress>('pretrainProgress');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Stops at the next checkpoint (the end of the running training activity) and exports the model. */
export const stopSignal = defineSignal('stop');
/** Sets the base learning rate from the next training activity on. */
export const setLearningRateSignal = defineSignal<[number]>('setLearningRate');
