// Image input pipeline: decode, augment, Sobel, batches on a pool of worker threads, prefetch, augmentation plots. Pure compute: callers supply the bytes.
export type { Image } from './image.ts';
export { decodeImage, DecodeError, type DecodeOptions } from './decode.ts';
export { sobel } from './sobel.ts';
export { augmentImage, checkAugmentChannels, type AugmentRandom } from './augment.ts';
export { loadBatch, type Batch, type BatchRequest } from './batch.ts';
export { KeyList, KeyListBuilder } from './key-list.ts';
export { BatchPrefetcher, type InputStats, type PrefetchOptions } from './prefetch.ts';
export {
  DecodePool,
  acquireDecodePool,
  closeDecodePool,
  defaultDecodeThreads,
  type DecodePoolLease,
} from './decode-pool.ts';
export { augplot, augplotOne, type AugplotOptions } from './augplot.ts';
export {
  AUGMENT_DEFAULTS,
  AUGMENT_KEYS,
  augmentSchema,
  inputSchema,
  parseInputOptions,
  resolveAugment,
  type AugmentOption,
  type AugmentParams,
  type InputOptions,
  type InputOptionsIn,
} from './options.ts';
