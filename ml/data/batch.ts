// One batch of images, decoded and resized on the decode pool's threads, then augmented and assembled there too.
// Pixels and order equal a plain decodeImage -> augmentImage (one stream, image after image) -> sobel pass over the
// keys on one thread; only where the work runs differs.
import type { DecodePool } from './decode-pool.ts';
import type { AugmentParams, InputOptions } from './options.ts';

export interface Batch {
  /** [B, H, W, C], row-major. */
  images: Float32Array;
  shape: [number, number, number, number];
  keys: string[];
}

export interface BatchRequest {
  keys: readonly string[];
  read: (key: string) => Promise<Uint8Array>;
  input: InputOptions;
  augment: AugmentParams | null;
  /** Seed of the batch's augmentation stream (ignored without augmentation). */
  augmentSeed: number;
  pool: DecodePool;
  /** Called for each image left out because it could not be read or decoded. */
  onSkip?: (key: string, reason: string) => void;
  /** Names the batch in the error thrown when none of its images decode, e.g. "step 12". */
  label: string;
}

/** Reads in flight per batch when the input options leave num_parallel_calls unset. */
const DEFAULT_PARALLEL_READS = 4;

export async function loadBatch(request: BatchRequest): Promise<Batch> {
  const { keys, input, pool } = request;
  const [height, width] = input.imshape;
  const decodeOptions = {
    imshape: input.imshape,
    num_channels: input.num_channels,
    norm: input.norm,
    single_channel: input.single_channel,
    jpeg_shrink_on_load: input.jpeg_shrink_on_load,
  };
  const decoded = new Array<Promise<Float32Array | undefined>>(keys.length);
  const skip = (key: string, reason: string) => {
    request.onSkip?.(key, reason);
    return undefined;
  };
  // Reads are bounded; each decode is queued on the pool as soon as its bytes arrive.
  let next = 0;
  const reader = async () => {
    for (let i = next++; i < keys.length; i = next++) {
      const key = keys[i]!;
      let bytes: Uint8Array;
      try {
        bytes = await request.read(key);
      } catch (error) {
        decoded[i] = Promise.resolve(skip(key, (error as Error).message));
        continue;
      }
      decoded[i] = pool
        .decode({ key, bytes, options: decodeOptions })
        .then((result) => (result instanceof Float32Array ? result : skip(key, result.failed)));
      // Awaited only once every read is done; until then a failed decode must not count as unhandled.
      decoded[i]!.catch(() => undefined);
    }
  };
  const parallel = Math.max(1, input.num_parallel_calls ?? DEFAULT_PARALLEL_READS);
  await Promise.all(Array.from({ length: Math.min(parallel, keys.length) }, reader));
  const results = await Promise.all(decoded);
  const images: Float32Array[] = [];
  const kept: string[] = [];
  results.forEach((image, i) => {
    if (!image) return;
    images.push(image);
    kept.push(keys[i]!);
  });
  if (images.length === 0) throw new Error(`${request.label}: none of its ${keys.length} images could be decoded`);
  const channels = input.sobel ? 3 : input.num_channels;
  const data = await pool.assemble({
    images,
    height,
    width,
    channels: input.num_channels,
    augment: request.augment,
    augmentSeed: request.augmentSeed,
    sobel: input.sobel,
  });
  return { images: data, shape: [kept.length, height, width, channels], keys: kept };
}
