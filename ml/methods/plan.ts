// Which images each global step trains on, and loading exactly those. Both depend only on (seed, epoch, step), so
// a run resumed from a checkpoint at step S sees the same batches and augmentations as one that never stopped.
import type { Batch, InputOptions, AugmentParams } from '../data/index.ts';
import { augmentImage, decodeImage, sobel } from '../data/index.ts';
import type { Image } from '../data/image.ts';
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
 *   per epoch: every mult * N samples, as the reference's trainer does.
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
  input: InputOptions;
  augment: AugmentParams | null;
  seed: number;
  step: number;
  onSkip?: (key: string, reason: string) => void;
}

/**
 * Decodes one step's images concurrently (num_parallel_calls), augments each with a stream seeded by the step, then
 * applies Sobel (the reference's order). A file that cannot be read or decoded is left out of the batch and reported.
 */
export async function loadStepBatch(options: StepBatchOptions): Promise<Batch> {
  const { input } = options;
  const decodeOptions = { ...input, sobel: false };
  const results = new Array<Image | undefined>(options.keys.length);
  let next = 0;
  const parallel = Math.max(1, input.num_parallel_calls ?? 4);
  const worker = async () => {
    for (let i = next++; i < options.keys.length; i = next++) {
      const key = options.keys[i];
      try {
        results[i] = await decodeImage(await options.read(key), key, decodeOptions);
      } catch (error) {
        options.onSkip?.(key, (error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, options.keys.length) }, worker));
  const rng = Rng.fromSeed(derivedSeed(options.seed, STREAM.augment, options.step));
  const images: Image[] = [];
  const keys: string[] = [];
  results.forEach((image, i) => {
    if (!image) return;
    let im = options.augment ? augmentImage(image, options.augment, rng) : image;
    if (input.sobel) im = sobel(im);
    images.push(im);
    keys.push(options.keys[i]);
  });
  if (images.length === 0) throw new Error(`step ${options.step}: none of its ${options.keys.length} images could be decoded`);
  const { height, width, channels } = images[0];
  const data = new Float32Array(images.length * height * width * channels);
  images.forEach((im, i) => data.set(im.data, i * im.data.length));
  return { images: data, shape: [images.length, height, width, channels], keys };
}
