// Batches of consecutive steps, loaded ahead of the consumer so the next ones are ready while the current step
// trains. Counts the time the consumer waits for a batch that is not ready yet, and the images it receives.
import type { Batch } from './batch.ts';

export interface InputStats {
  /** Time spent in next() waiting for a batch that was still loading. */
  waitMs: number;
  /** Images and batches handed out. */
  images: number;
  batches: number;
  /** Since the prefetcher was opened. */
  elapsedMs: number;
  /** waitMs / elapsedMs (0 before any time has passed). */
  inputWaitFraction: number;
  /** images / elapsed seconds. */
  imagesPerSecond: number;
}

export interface PrefetchOptions {
  /** Loads the batch of one step; called in step order, up to `depth` steps ahead of the consumer. */
  load: (step: number) => Promise<Batch>;
  fromStep: number;
  /** Exclusive. */
  toStep: number;
  depth: number;
  /** Called once by close(), after the loads in flight have settled. */
  onClose?: () => void;
}

export class BatchPrefetcher {
  private readonly pending: Array<Promise<Batch>> = [];
  private nextToLoad: number;
  private nextToHand: number;
  private readonly openedAt = performance.now();
  private waitMs = 0;
  private images = 0;
  private batches = 0;
  private closed = false;

  constructor(private readonly options: PrefetchOptions) {
    if (!(options.depth >= 1)) throw new Error(`BatchPrefetcher: depth must be at least 1, got ${options.depth}`);
    this.nextToLoad = options.fromStep;
    this.nextToHand = options.fromStep;
    this.fill();
  }

  /** The batch of the next step, in order from fromStep; throws past toStep. */
  async next(): Promise<Batch> {
    if (this.closed) throw new Error('BatchPrefetcher: closed');
    if (this.nextToHand >= this.options.toStep) throw new Error(`BatchPrefetcher: no step after ${this.options.toStep - 1}`);
    const waitStart = performance.now();
    const batch = await this.pending.shift()!;
    this.waitMs += performance.now() - waitStart;
    this.nextToHand++;
    this.images += batch.shape[0];
    this.batches++;
    this.fill();
    return batch;
  }

  stats(): InputStats {
    const elapsedMs = performance.now() - this.openedAt;
    return {
      waitMs: this.waitMs,
      images: this.images,
      batches: this.batches,
      elapsedMs,
      inputWaitFraction: elapsedMs > 0 ? Math.min(1, this.waitMs / elapsedMs) : 0,
      imagesPerSecond: elapsedMs > 0 ? (this.images * 1000) / elapsedMs : 0,
    };
  }

  /** Stops loading ahead and waits for the loads in flight (their failures are dropped: nobody asked for them). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const inflight = this.pending.splice(0);
    await Promise.allSettled(inflight);
    this.options.onClose?.();
  }

  private fill(): void {
    while (!this.closed && this.pending.length < this.options.depth && this.nextToLoad < this.options.toStep) {
      const step = this.nextToLoad++;
      const loading = new Promise<Batch>((resolve) => resolve(this.options.load(step)));
      // A batch loaded ahead may fail before anyone awaits it; the failure is raised by the next() that reaches it.
      loading.catch(() => undefined);
      this.pending.push(loading);
    }
  }
}
