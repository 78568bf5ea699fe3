// Batches of decoded (and optionally augmented / Sobel-filtered) images from a list of keys, read through a
// caller-supplied `read(key)`. Up to `num_parallel_calls` reads+decodes run at once, and up to `prefetch` finished
// batches wait ahead of the consumer. Output order is the key order (after the seeded shuffle, if on), whatever
// order the decodes finish in. An image that cannot be read or decoded is skipped and reported, never fatal.
import { availableParallelism } from 'node:os';
import { augmentImage, checkAugmentChannels, type AugmentRandom } from './augment.ts';
import { decodeImage } from './decode.ts';
import type { Image } from './image.ts';
import { parseInputOptions, resolveAugment, type AugmentOption, type InputOptionsIn } from './options.ts';
import { sobel } from './sobel.ts';

export interface Batch {
  /** [B, H, W, C], row-major. */
  images: Float32Array;
  shape: [number, number, number, number];
  keys: string[];
}

export interface SkippedImage {
  key: string;
  reason: string;
}

/** Uniform draws for the shuffle and the augmentation; ml/rng.ts's Rng provides it. */
export interface PipelineRandom extends AugmentRandom {}

export interface BatchSource {
  keys: readonly string[];
  read: (key: string) => Promise<Uint8Array>;
  input?: InputOptionsIn;
  augment?: AugmentOption;
  /** Needed when `shuffle` is on or `augment` is set. */
  rng?: PipelineRandom;
  onSkip?: (skipped: SkippedImage) => void;
}

export interface BatchStream extends AsyncIterable<Batch> {
  /** Images skipped so far in this pass. */
  readonly skipped: SkippedImage[];
  /** ceil(keys / batch_size), as the original's num_steps (skipped images can make the real count smaller). */
  readonly numSteps: number;
}

export function numSteps(count: number, batchSize: number): number {
  return Math.ceil(count / batchSize);
}

/** One pass over `keys`. Validates all options up front, so a bad config throws here rather than mid-epoch. */
export function loadBatches(source: BatchSource): BatchStream {
  const input = parseInputOptions(source.input);
  const augment = resolveAugment(source.augment);
  checkAugmentChannels(augment, input.num_channels);
  const rng = source.rng;
  if (!rng && (input.shuffle || augment)) {
    throw new Error(
      'loadBatches: pass rng (e.g. Rng.fromSeed(seed) from ml/rng.ts) when shuffle or augment is on',
    );
  }
  const [height, width] = input.imshape;
  const channels = input.sobel ? 3 : input.num_channels;
  const parallel = input.num_parallel_calls ?? Math.max(4, 2 * availableParallelism());
  const skipped: SkippedImage[] = [];
  let started = false;

  async function load(key: string): Promise<Image | SkippedImage> {
    try {
      const bytes = await source.read(key);
      return await decodeImage(bytes, key, input);
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      return { key, reason: message.startsWith(`${key}: `) ? message.slice(key.length + 2) : message };
    }
  }

  function finish(image: Image): Image {
    let im = image;
    if (augment) im = augmentImage(im, augment, rng!);
    if (input.sobel) im = sobel(im);
    return im;
  }

  async function* pass(): AsyncGenerator<Batch> {
    const order = [...source.keys];
    if (input.shuffle) shuffleInPlace(order, rng!);
    const queue = new BoundedQueue<Batch>(input.prefetch);
    const perImage = height * width * channels;

    const pump = async () => {
      const inflight: Array<{ key: string; result: Promise<Image | SkippedImage> }> = [];
      let next = 0;
      let images = new Float32Array(input.batch_size * perImage);
      let keys: string[] = [];
      const flush = async () => {
        const b = keys.length;
        const data = b === input.batch_size ? images : images.slice(0, b * perImage);
        await queue.push({ images: data, shape: [b, height, width, channels], keys });
        images = new Float32Array(input.batch_size * perImage);
        keys = [];
      };
      while ((next < order.length || inflight.length > 0) && !queue.isAbandoned) {
        while (inflight.length < parallel && next < order.length) {
          const key = order[next++]!;
          inflight.push({ key, result: load(key) });
        }
        const { key, result } = inflight.shift()!;
        const loaded = await result;
        if ('reason' in loaded) {
          skipped.push(loaded);
          source.onSkip?.(loaded);
          continue;
        }
        images.set(finish(loaded).data, keys.length * perImage);
        keys.push(key);
        if (keys.length === input.batch_size) await flush();
      }
      if (keys.length > 0) await flush();
    };
    pump().then(
      () => queue.close(),
      (err) => queue.fail(err),
    );
    try {
      for (;;) {
        const batch = await queue.shift();
        if (batch === undefined) return;
        yield batch;
      }
    } finally {
      queue.abandon();
    }
  }

  return {
    skipped,
    numSteps: numSteps(source.keys.length, input.batch_size),
    [Symbol.asyncIterator]() {
      if (started)
        throw new Error('loadBatches: a BatchStream is one pass; call loadBatches again for the next epoch');
      started = true;
      return pass();
    },
  };
}

function shuffleInPlace<T>(items: T[], rng: { next(): number }): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
}

/** A FIFO of at most `capacity` items between one producer and one consumer. */
class BoundedQueue<T> {
  private items: T[] = [];
  private closed = false;
  private abandoned = false;
  private error: unknown = null;
  private wakeConsumer: (() => void) | null = null;
  private wakeProducer: (() => void) | null = null;

  constructor(private readonly capacity: number) {}

  get isAbandoned(): boolean {
    return this.abandoned;
  }

  /** Resolves once the item is queued; throws if the consumer has gone away, which stops the producer. */
  async push(item: T): Promise<void> {
    while (this.items.length >= this.capacity && !this.abandoned) {
      await new Promise<void>((resolve) => (this.wakeProducer = resolve));
    }
    if (this.abandoned) throw new ConsumerGone();
    this.items.push(item);
    this.wake('consumer');
  }

  /** The next item, or undefined once the producer has closed and the queue is drained. */
  async shift(): Promise<T | undefined> {
    while (this.items.length === 0 && !this.closed) {
      await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
    }
    if (this.items.length > 0) {
      const item = this.items.shift()!;
      this.wake('producer');
      return item;
    }
    if (this.error !== null) throw this.error;
    return undefined;
  }

  close(): void {
    this.closed = true;
    this.wake('consumer');
  }

  fail(err: unknown): void {
    if (!(err instanceof ConsumerGone)) this.error = err;
    this.close();
  }

  abandon(): void {
    this.abandoned = true;
    this.items = [];
    this.wake('producer');
  }

  private wake(who: 'consumer' | 'producer'): void {
    const fn = who === 'consumer' ? this.wakeConsumer : this.wakeProducer;
    if (who === 'consumer') this.wakeConsumer = null;
    else this.wakeProducer = null;
    fn?.();
  }
}

class ConsumerGone extends Error {}
