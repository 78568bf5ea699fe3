// A run's training batches up to the end of the current epoch, kept open between training activities of a cached
// session: the next chunk on the same worker finds its first batches already decoded instead of waiting for the
// pipeline to fill again. A chunk that does not continue where the last one stopped opens a new stream.
import type { BatchPrefetcher, Batch, InputStats } from '../ml/data/index.ts';
import { openTrainingBatches, type TrainingBatchesOptions } from '../ml/methods/plan.ts';

export interface ChunkInputStats {
  inputWaitFraction: number;
  imagesPerSecond: number;
}

export class EpochBatches {
  private stream: { epoch: number; nextStep: number; end: number; batches: BatchPrefetcher } | undefined;
  private chunk: { stats: InputStats; at: number } | undefined;

  /**
   * Batches from `fromStep` on, for steps of `epoch` (the stream ends with `options.toStep`, the epoch's end). Reuses the
   * open stream when it is at `fromStep` of the same epoch.
   */
  async startChunk(epoch: number, fromStep: number, open: () => TrainingBatchesOptions): Promise<void> {
    if (this.stream && (this.stream.epoch !== epoch || this.stream.nextStep !== fromStep)) await this.close();
    if (!this.stream) {
      const options = open();
      this.stream = { epoch, nextStep: fromStep, end: options.toStep, batches: openTrainingBatches(options) };
    }
    this.chunk = { stats: this.stream.batches.stats(), at: performance.now() };
  }

  async next(): Promise<Batch> {
    const stream = this.stream;
    if (!stream) throw new Error('EpochBatches: no chunk started');
    const batch = await stream.batches.next();
    stream.nextStep++;
    return batch;
  }

  /** Input wait and throughput since startChunk. */
  chunkStats(): ChunkInputStats {
    const now = this.stream?.batches.stats();
    if (!now || !this.chunk) return { inputWaitFraction: 0, imagesPerSecond: 0 };
    const elapsedMs = performance.now() - this.chunk.at;
    if (elapsedMs <= 0) return { inputWaitFraction: 0, imagesPerSecond: 0 };
    return {
      inputWaitFraction: Math.min(1, (now.waitMs - this.chunk.stats.waitMs) / elapsedMs),
      imagesPerSecond: ((now.images - this.chunk.stats.images) * 1000) / elapsedMs,
    };
  }

  /** Closes the stream if the chunk reached its end; otherwise it stays open, loading ahead, for the next chunk. */
  async endChunk(): Promise<void> {
    if (this.stream && this.stream.nextStep >= this.stream.end) await this.close();
  }

  /** Ends the stream (and its lease on the decode pool); the next chunk opens a new one. */
  async close(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    await stream?.batches.close();
  }
}
