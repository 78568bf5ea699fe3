// A process-wide pool of worker threads for decode, resize, augmentation and batch assembly, so that this work stays
// off the thread that runs training. Users take a lease and release it; the pool's threads end once the last lease
// is released and nothing asks for it for a short while (a refit or an evaluation right after a chunk of training
// reuses the threads instead of starting new ones). Idle threads never keep the process alive.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { AssembleTask, PartResult, PartTask } from './pool-task.ts';

/** `PATCHWORK_DECODE_THREADS`, else one thread per core but one (which trains), at least one. */
export function defaultDecodeThreads(): number {
  const configured = process.env.PATCHWORK_DECODE_THREADS;
  if (configured !== undefined && configured !== '') {
    const n = Number(configured);
    if (!Number.isInteger(n) || n < 1) throw new Error(`PATCHWORK_DECODE_THREADS must be a positive integer, got '${configured}'`);
    return n;
  }
  return Math.max(1, availableParallelism() - 1);
}

/** How long a pool with no lease keeps its threads. */
const LINGER_MS = 5_000;

export class DecodePool {
  private readonly piscina: Piscina;

  constructor(readonly threads: number) {
    this.piscina = new Piscina({
      filename: new URL('./pool-worker.mjs', import.meta.url).href,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: LINGER_MS,
    });
  }

  /** Decodes the part's images (and finishes them, if asked). Its bytes are moved into the thread. */
  async part(task: Omit<PartTask, 'kind'>): Promise<PartResult> {
    const transferList = 'bytes' in task.files ? [task.files.bytes.buffer as ArrayBuffer] : [];
    return (await this.piscina.run({ kind: 'part', ...task } satisfies PartTask, { transferList })) as PartResult;
  }

  /** One contiguous batch; the images are moved into the thread and must not be used afterwards. */
  async assemble(task: Omit<AssembleTask, 'kind'>): Promise<Float32Array> {
    const transferList = [task.images.buffer as ArrayBuffer];
    return (await this.piscina.run({ kind: 'assemble', ...task } satisfies AssembleTask, { transferList })) as Float32Array;
  }

  async destroy(): Promise<void> {
    await this.piscina.destroy();
  }
}

export interface DecodePoolLease {
  readonly pool: DecodePool;
  /** Idempotent. */
  release(): void;
}

let shared: { pool: DecodePool; leases: number; closing?: NodeJS.Timeout } | undefined;

/** A lease on the shared pool, started with `threads` (default defaultDecodeThreads()) if none is running. */
export function acquireDecodePool(threads?: number): DecodePoolLease {
  if (!shared) shared = { pool: new DecodePool(threads ?? defaultDecodeThreads()), leases: 0 };
  const entry = shared;
  clearTimeout(entry.closing);
  entry.closing = undefined;
  entry.leases++;
  let released = false;
  return {
    pool: entry.pool,
    release() {
      if (released) return;
      released = true;
      entry.leases--;
      if (entry.leases > 0 || shared !== entry) return;
      entry.closing = setTimeout(() => {
        if (shared === entry) shared = undefined;
        void entry.pool.destroy();
      }, LINGER_MS);
      entry.closing.unref();
    },
  };
}

/** Ends the shared pool's threads now, whatever leases are held (for process shutdown and tests). */
export async function closeDecodePool(): Promise<void> {
  const entry = shared;
  shared = undefined;
  if (!entry) return;
  clearTimeout(entry.closing);
  await entry.pool.destroy();
}
