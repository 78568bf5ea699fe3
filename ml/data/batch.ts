// One batch of images, decoded, resized, augmented and assembled on the decode pool's threads, one task per part of
// the batch (see pool-task.ts). Pixels and order equal a plain decodeImage -> augmentImage (one stream, image after
// image) -> sobel pass over the keys on one thread; only where the work runs differs.
import type { DecodeOptions } from './decode.ts';
import type { DecodePool } from './decode-pool.ts';
import type { AugmentParams, InputOptions } from './options.ts';
import type { Finish, PartFiles, PartResult } from './pool-task.ts';

export interface Batch {
  /** [B, H, W, C], row-major. */
  images: Float32Array;
  shape: [number, number, number, number];
  keys: string[];
}

/** A key's local path, or with `reader` set, a reference for that module (see BatchRequest.filePath). */
export type PoolFilePath = ((key: string) => string) & { readonly reader?: string };

export interface BatchRequest {
  keys: readonly string[];
  read: (key: string) => Promise<Uint8Array>;
  /**
   * Where the pool's threads can read a key themselves: its local path or, when the function has a `reader` (the URL
   * of a module exporting RemoteReader's readRemote), a reference that module resolves, such as a presigned URL.
   * `read` is then not called, which saves this thread the reads and the copies of the bytes. Called once per key
   * each time a batch is loaded (presigned URLs are signed afresh).
   */
  filePath?: PoolFilePath;
  input: InputOptions;
  augment: AugmentParams | null;
  /** Seed of the batch's augmentation stream (ignored without augmentation). */
  augmentSeed: number;
  pool: DecodePool;
  /**
   * Tasks the batch is split into, run on as many threads at once (default 1: the whole batch is one task, which
   * costs the fewest messages; batches loaded ahead keep the threads busy).
   */
  parts?: number;
  /** Called for each image left out because it could not be read or decoded. */
  onSkip?: (key: string, reason: string) => void;
  /** Names the batch in the error thrown when none of its images decode, e.g. "step 12". */
  label: string;
}

/** Reads in flight per batch when the input options leave num_parallel_calls unset. */
const DEFAULT_PARALLEL_READS = 4;

/** Reads in flight per batch (on this thread), or per part (remote files, on a pool thread). */
const parallelReads = (input: InputOptions) => Math.max(1, input.num_parallel_calls ?? DEFAULT_PARALLEL_READS);

export async function loadBatch(request: BatchRequest): Promise<Batch> {
  const { keys, input, pool } = request;
  const [height, width] = input.imshape;
  const decodeOptions: DecodeOptions = {
    imshape: input.imshape,
    num_channels: input.num_channels,
    norm: input.norm,
    single_channel: input.single_channel,
    jpeg_shrink_on_load: input.jpeg_shrink_on_load,
  };
  const finish: Finish = { augment: request.augment, augmentSeed: request.augmentSeed, sobel: input.sobel };
  const skip = (index: number, reason: string) => request.onSkip?.(keys[index]!, reason);
  const files = await readFiles(request, skip);
  const ranges = splitRange(files.length, request.parts ?? 1);
  const whole = ranges.length === 1;
  const parts = await Promise.all(
    ranges.map(([from, to]) => {
      const chunk = files.slice(from, to);
      return pool.part({
        keys: chunk.map((file) => keys[file.index]!),
        files: partFiles(chunk, request.filePath?.reader, parallelReads(input)),
        options: decodeOptions,
        finish: whole ? finish : null,
      });
    }),
  );
  const kept: string[] = [];
  ranges.forEach(([from], p) => {
    for (const [i, reason] of parts[p]!.failed) skip(files[from + i]!.index, reason);
    for (const i of parts[p]!.kept) kept.push(keys[files[from + i]!.index]!);
  });
  if (kept.length === 0) throw new Error(`${request.label}: none of its ${keys.length} images could be decoded`);
  const channels = input.sobel ? 3 : input.num_channels;
  const images = whole ? parts[0]!.images : await assembleParts(pool, parts, finish, [height, width, input.num_channels]);
  return { images, shape: [kept.length, height, width, channels], keys: kept };
}

/** The keys' bytes (or paths or remote references), in key order, leaving out the ones that could not be read. */
async function readFiles(
  request: BatchRequest,
  skip: (index: number, reason: string) => void,
): Promise<Array<{ index: number; bytes?: Uint8Array; path?: string }>> {
  const { keys, filePath } = request;
  if (filePath) return keys.map((key, index) => ({ index, path: filePath(key) }));
  const read = new Array<Uint8Array | undefined>(keys.length);
  let next = 0;
  const reader = async () => {
    for (let i = next++; i < keys.length; i = next++) {
      try {
        read[i] = await request.read(keys[i]!);
      } catch (error) {
        skip(i, (error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallelReads(request.input), keys.length) }, reader));
  return read.flatMap((bytes, index) => (bytes ? [{ index, bytes }] : []));
}

/**
 * The part's paths or remote references, or one buffer of its own for its bytes (a read may return a view of a
 * shared pool, which must not move).
 */
function partFiles(chunk: Array<{ bytes?: Uint8Array; path?: string }>, reader: string | undefined, parallel: number): PartFiles {
  if (chunk.every((file) => file.path !== undefined)) {
    const paths = chunk.map((file) => file.path!);
    return reader ? { refs: paths, reader, parallel } : { paths };
  }
  const ends: number[] = [];
  let total = 0;
  for (const file of chunk) ends.push((total += file.bytes!.length));
  const bytes = new Uint8Array(total);
  chunk.forEach((file, i) => bytes.set(file.bytes!, i === 0 ? 0 : ends[i - 1]));
  return { bytes, ends };
}

/** [from, to) ranges of about equal size covering 0..length, at most `parts` and none empty. */
function splitRange(length: number, parts: number): Array<[number, number]> {
  const count = Math.max(1, Math.min(parts, length));
  return Array.from({ length: count }, (_, p) => [Math.floor((p * length) / count), Math.floor(((p + 1) * length) / count)]);
}

/** The parts' images in one array, augmented and Sobel-filtered on a pool thread when asked. */
async function assembleParts(
  pool: DecodePool,
  parts: PartResult[],
  finish: Finish,
  [height, width, channels]: [number, number, number],
): Promise<Float32Array> {
  const images = new Float32Array(parts.reduce((n, part) => n + part.images.length, 0));
  let at = 0;
  for (const part of parts) {
    images.set(part.images, at);
    at += part.images.length;
  }
  if (!finish.augment && !finish.sobel) return images;
  return pool.assemble({ images, height, width, channels, ...finish });
}
