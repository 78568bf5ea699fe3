// What a decode-pool thread runs: decode + resize of one image, or the assembly of one batch (augmentation in key
// order with the step's stream, Sobel, one contiguous array). Results go back as transfers, never copies.
import { move } from 'piscina';
import { augmentImage } from './augment.ts';
import { decodeImage, type DecodeOptions } from './decode.ts';
import type { Image } from './image.ts';
import type { AugmentParams } from './options.ts';
import { sobel } from './sobel.ts';
import { Rng } from '../rng.ts';

export interface DecodeTask {
  kind: 'decode';
  key: string;
  bytes: Uint8Array;
  options: DecodeOptions;
}

export interface AssembleTask {
  kind: 'assemble';
  /** Decoded images of one batch, in batch order, each height x width x channels. */
  images: Float32Array[];
  height: number;
  width: number;
  channels: number;
  augment: AugmentParams | null;
  /** Seed of the batch's augmentation stream: one stream drawn image after image, in batch order. */
  augmentSeed: number;
  sobel: boolean;
}

export type PoolTask = DecodeTask | AssembleTask;

/** A decode failure crosses the thread boundary as a value: the caller skips the image and reports the reason. */
export interface DecodeFailure {
  failed: string;
}

export default async function runPoolTask(task: PoolTask): Promise<unknown> {
  if (task.kind === 'decode') {
    try {
      const image = await decodeImage(task.bytes, task.key, task.options);
      return move(image.data);
    } catch (error) {
      return { failed: (error as Error).message } satisfies DecodeFailure;
    }
  }
  return move(assembleBatch(task));
}

export function assembleBatch(task: Omit<AssembleTask, 'kind'>): Float32Array {
  const rng = task.augment ? Rng.fromSeed(task.augmentSeed) : undefined;
  const outChannels = task.sobel ? 3 : task.channels;
  const perImage = task.height * task.width * outChannels;
  const out = new Float32Array(task.images.length * perImage);
  task.images.forEach((data, i) => {
    let image: Image = { data, height: task.height, width: task.width, channels: task.channels };
    if (task.augment) image = augmentImage(image, task.augment, rng!);
    if (task.sobel) image = sobel(image);
    out.set(image.data, i * perImage);
  });
  return out;
}
