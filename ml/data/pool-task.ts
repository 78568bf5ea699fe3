// What a decode-pool thread runs. One message per part of a batch, not per image: for small files the messages cost
// more than the decoding. A part is decoded and resized image after image and, when it is the whole batch,
// augmented (one stream, image after image, in key order), Sobel-filtered and written into the batch's one
// contiguous array. A batch split into several parts comes back decoded only and is finished by one assemble task.
// Results go back as transfers, never copies. Files come as bytes, as local paths the thread reads, or as references
// (e.g. presigned URLs) that a reader module named by the task resolves, a few ahead of the image being decoded: the
// reader is storage code, loaded by its URL, so that this module imports no HTTP or storage code itself.
import { readFileSync } from 'node:fs';
import { Piscina, move } from 'piscina';
import { augmentImage } from './augment.ts';
import { decodeImage, type DecodeOptions } from './decode.ts';
import type { Image } from './image.ts';
import type { AugmentParams } from './options.ts';
import { sobel } from './sobel.ts';
import { Rng } from '../rng.ts';

/** What happens to decoded images before they are batched: augmentation, then Sobel. */
export interface Finish {
  augment: AugmentParams | null;
  /** Seed of the batch's augmentation stream: one stream drawn image after image, in batch order. */
  augmentSeed: number;
  sobel: boolean;
}

/**
 * The files of a part: their bytes one after another (file i ends at ends[i]), paths the thread reads itself, or
 * references the thread passes to `readRemote(ref, key)` of the module at URL `reader`, `parallel` at a time.
 */
export type PartFiles =
  | { bytes: Uint8Array; ends: number[] }
  | { paths: string[] }
  | { refs: string[]; reader: string; parallel: number };

/** What a reader module exports. Its errors' messages say why the file was left out, naming the key. */
export interface RemoteReader {
  readRemote(ref: string, key: string): Promise<Uint8Array>;
}

export interface PartTask {
  kind: 'part';
  /** Names the images in failure messages, in order. */
  keys: string[];
  files: PartFiles;
  options: DecodeOptions;
  /** Null: return the decoded images as they are. */
  finish: Finish | null;
}

export interface PartResult {
  /** The kept images, one after another, height x width x channels each. */
  images: Float32Array;
  /** Indices into keys of the kept images, in order. */
  kept: number[];
  /** Index into keys and the reason, for each image left out. */
  failed: Array<[number, string]>;
}

export interface AssembleTask extends Finish {
  kind: 'assemble';
  /** Decoded images of one batch, one after another in batch order, each height x width x channels. */
  images: Float32Array;
  height: number;
  width: number;
  channels: number;
}

export type PoolTask = PartTask | AssembleTask;

export default async function runPoolTask(task: PoolTask): Promise<unknown> {
  if (task.kind === 'part') {
    const result = await runPart(task);
    // An object whose images' buffer is moved, not copied (piscina's move() takes a buffer or view, not an object).
    const movable = { [Piscina.transferableSymbol]: [result.images.buffer], [Piscina.valueSymbol]: result };
    return move(movable as unknown as Parameters<typeof move>[0]);
  }
  return move(assembleBatch(task));
}

/** Reader modules by URL, imported once per thread. */
const readers = new Map<string, Promise<RemoteReader>>();

function remoteReader(url: string): Promise<RemoteReader> {
  let reader = readers.get(url);
  if (!reader) readers.set(url, (reader = import(url) as Promise<RemoteReader>));
  return reader;
}

/** File i of the part's files, by index; remote files are fetched `parallel` ahead of the one asked for. */
function fileSource(files: PartFiles, keys: string[]): (i: number) => Promise<Uint8Array> | Uint8Array {
  // Blocking is fine here: the thread has nothing else to do, and a sync read costs one call, not four.
  if ('paths' in files) return (i) => readFileSync(files.paths[i]!);
  if ('bytes' in files) return (i) => files.bytes.subarray(i === 0 ? 0 : files.ends[i - 1], files.ends[i]);
  const fetched = new Map<number, Promise<Uint8Array>>();
  let started = 0;
  return (i) => {
    for (; started < Math.min(keys.length, i + Math.max(1, files.parallel)); started++) {
      const j = started;
      const bytes = remoteReader(files.reader).then((reader) => reader.readRemote(files.refs[j]!, keys[j]!));
      // Awaited in turn below; until then a failure must not count as unhandled.
      bytes.catch(() => {});
      fetched.set(j, bytes);
    }
    const bytes = fetched.get(i)!;
    fetched.delete(i);
    return bytes;
  };
}

export async function runPart(task: Omit<PartTask, 'kind'>): Promise<PartResult> {
  const [height, width] = task.options.imshape;
  const finish = task.finish;
  const channels = finish?.sobel ? 3 : task.options.num_channels;
  const perImage = height * width * channels;
  const rng = finish?.augment ? Rng.fromSeed(finish.augmentSeed) : undefined;
  let images = new Float32Array(task.keys.length * perImage);
  const kept: number[] = [];
  const failed: Array<[number, string]> = [];
  const file = fileSource(task.files, task.keys);
  for (let i = 0; i < task.keys.length; i++) {
    // Decoded and augmented in the image's place in the batch, unless Sobel changes its channels afterwards.
    const slot = images.subarray(kept.length * perImage, (kept.length + 1) * perImage);
    let image: Image;
    try {
      image = await decodeImage(await file(i), task.keys[i]!, task.options, finish?.sobel ? undefined : slot);
    } catch (error) {
      failed.push([i, (error as Error).message]);
      continue;
    }
    if (finish?.augment) image = augmentImage(image, finish.augment, rng!);
    if (finish?.sobel) image = sobel(image);
    if (image.data !== slot) slot.set(image.data);
    kept.push(i);
  }
  if (kept.length < task.keys.length) images = images.slice(0, kept.length * perImage);
  return { images, kept, failed };
}

export function assembleBatch(task: Omit<AssembleTask, 'kind'>): Float32Array {
  const rng = task.augment ? Rng.fromSeed(task.augmentSeed) : undefined;
  const perImage = task.height * task.width * task.channels;
  const count = task.images.length / perImage;
  const out = task.sobel ? new Float32Array(count * task.height * task.width * 3) : task.images;
  for (let i = 0; i < count; i++) {
    // Augmentation works in place on the image's own slice of the batch.
    const data = task.images.subarray(i * perImage, (i + 1) * perImage);
    let image: Image = { data, height: task.height, width: task.width, channels: task.channels };
    if (task.augment) image = augmentImage(image, task.augment, rng!);
    if (task.sobel) image = sobel(image);
    if (image.data !== data || task.sobel) out.set(image.data, i * image.data.length);
  }
  return out;
}
