// Which images each global step trains on, and loading exactly those. Both depend only on (seed, epoch, step), so
// a run resumed from a checkpoint at step S sees the same batches and augmentations as one that never stopped.
import type { Batch, BatchRequest, DecodePool, InputOptions, AugmentParams } from '../data/index.ts';
import { BatchPrefetcher, acquireDecodePool, loadBatch } from '../data/index.ts';
import { Rng } from '../rng.ts';

/** A seed for (run seed, purpose, index) that differs for every combination; purpose keeps streams apart. */
export function derivedSeed(seed: number, purpose: number, index: number): number {
  let h = (seed ^ Math.imul(purpose + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (index >>> 0), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export const STREAM = { epochOrder: 1, augment: 2, trainer: 3, refit: 4, dropout: 5 } as const;

/**
 * Steps per epoch, images loaded per step and, for DeepCluster, epochs between k-means refits.
 * - DeepCluster: `mult` scales the epoch (its cluster-uniform sample holds about mult * N images), so it refits once
 *   per epoch: every mult * N samples, as the original's trainer does.
 * - IIC: a step trains on batch_size pairs, as the original's batches of its r-times-repeated stream: ceil(B / r)
 *   images, each repeated r times (the last one cut short), so an epoch shows every image once.
 * Other methods never refit (refitEvery 0).
 */
export function epochPlan(options: { method: string; files: number; batchSize: number; mult?: number; r?: number }): {
  stepsPerEpoch: number;
  imagesPerStep: number;
  refitEvery: number;
} {
  const { method, files, batchSize } = options;
  if (method === 'deepcluster') {
    return { stepsPerEpoch: Math.ceil((files * (options.mult ?? 1)) / batchSize), imagesPerStep: batchSize, refitEvery: 1 };
  }
  const imagesPerStep = method === 'iic' ? Math.ceil(batchSize / (options.r ?? 1)) : batchSize;
  return { stepsPerEpoch: Math.ceil(files / imagesPerStep), imagesPerStep, refitEvery: 0 };
}

/**
 * The file indices of one epoch, `stepsPerEpoch * batchSize` long: the given sample (DeepCluster's cluster-uniform
 * draw) or a seeded permutation of all files, repeated as needed to fill the epoch.
 */
export function epochOrder(options: {
  files: number;
  stepsPerEpoch: number;
  batchSize: number;
  seed: number;
  epoch: number;
  sample?: number[];
}): Int32Array {
  const rng = Rng.fromSeed(derivedSeed(options.seed, STREAM.epochOrder, options.epoch));
  const base = options.sample ?? (rng.shuffle(Array.from({ length: options.files }, (_, i) => i)) as number[]);
  if (base.length === 0) throw new Error('epochOrder: no images to train on');
  const order = new Int32Array(options.stepsPerEpoch * options.batchSize);
  for (let i = 0; i < order.length; i++) order[i] = base[i % base.length];
  return order;
}

export function stepIndices(order: Int32Array, stepInEpoch: number, batchSize: number): number[] {
  return Array.from(order.subarray(stepInEpoch * batchSize, (stepInEpoch + 1) * batchSize));
}

export interface StepBatchOptions {
  keys: string[];
  read: (key: string) => Promise<Uint8Array>;
  /**
   * Where the decode pool's threads read keys themselves instead of `read`: local paths, or references for the reader
   * module the function names (see BatchRequest.filePath).
   */
  filePath?: BatchRequest['filePath'];
  input: InputOptions;
  augment: AugmentParams | null;
  seed: number;
  step: number;
  onSkip?: (key: string, reason: string) => void;
}

/**
 * One step's images, decoded and augmented on the decode pool's threads with a stream seeded by the step, then
 * Sobel-filtered (the original's order). A file that cannot be read or decoded is left out of the batch and reported.
 */
export async function loadStepBatch(options: StepBatchOptions): Promise<Batch> {
  const lease = acquireDecodePool();
  try {
    // Nothing else is loading: split the batch over every thread.
    return await loadBatch({ ...stepRequest(options, lease.pool), parts: lease.pool.threads });
  } finally {
    lease.release();
  }
}

function stepRequest(options: StepBatchOptions, pool: DecodePool): BatchRequest {
  return {
    keys: options.keys,
    read: options.read,
    filePath: options.filePath,
    input: options.input,
    augment: options.augment,
    augmentSeed: derivedSeed(options.seed, STREAM.augment, options.step),
    pool,
    onSkip: options.onSkip,
    label: `step ${options.step}`,
  };
}

export interface TrainingBatchesOptions extends Omit<StepBatchOptions, 'keys' | 'step'> {
  /** The keys step `step` trains on, e.g. from stepIndices over the epoch's order. */
  keysAt: (step: number) => string[];
  fromStep: number;
  /** Exclusive. */
  toStep: number;
  /** Batches loaded ahead of the one training; default max(2, input.prefetch, the pool's threads). */
  prefetch?: number;
  /** Threads of the decode pool if this call starts it (default: PATCHWORK_DECODE_THREADS, else cores - 1). */
  threads?: number;
}

/**
 * The batches of steps fromStep..toStep-1 in order (the same as loadStepBatch's), loaded ahead on the decode pool.
 * stats() gives the time spent waiting for input and the images delivered; close() when training stops, which
 * releases the pool.
 */
export function openTrainingBatches(options: TrainingBatchesOptions): BatchPrefetcher {
  const lease = acquireDecodePool(options.threads);
  return new BatchPrefetcher({
    load: (step) => loadBatch(stepRequest({ ...options, keys: options.keysAt(step), step }, lease.pool)),
    fromStep: options.fromStep,
    toStep: options.toStep,
    // Each batch is one task on one thread, so at least one batch per thread is loaded ahead.
    depth: options.prefetch ?? Math.max(2, options.input.prefetch, lease.pool.threads),
    onClose: () => lease.release(),
  });
}
