// Image input pipeline: decode, augment, Sobel, batches, augmentation plots. Pure compute: callers supply the bytes.
export type { Image } from './image.ts';
export { decodeImage, DecodeError, type DecodeOptions } from './decode.ts';
export { sobel } from './sobel.ts';
export { augmentImage, checkAugmentChannels, type AugmentRandom } from './augment.ts';
export {
  loadBatches,
  numSteps,
  type Batch,
  type BatchSource,
  type BatchStream,
  type SkippedImage,
} from './batches.ts';
export { augplot, type AugplotOptions } from './augplot.ts';
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
