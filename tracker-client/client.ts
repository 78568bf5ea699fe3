// Tracker client for activities (no Temporal imports): log calls only append to a memory buffer; a background loop
// sends batches to the tracker and retries with backoff while it is down. A batch keeps its id across retries, so
// the tracker writes it once. When the buffer is full, the oldest items move to a bounded on-disk spool, sent first
// once the tracker is back. `flush()` waits until everything logged so far is acknowledged; `close()` flushes (and
// spools whatever is still unsent if it gives up waiting) and can mark the run finished.
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchSpool, type SpooledBatch } from './spool.ts';
import { toWire, type BatchResponse, type FinishRun, type Item, type ProjectorUpload, type RegisterModel, type StartRun, type StartRunResponse } from '../contracts/tracker-runs.ts';
import { isValidRunId, RUN_ID_RULE } from '../contracts/run-id.ts';

export interface TrackerClientOptions {
  url: string;
  token: string;
  run: string;
  /** Folder for the on-disk spool (one sub-folder per run); default <os tmp>/patchwork-tracker-spool. */
  spoolDir?: string;
  /** Items per HTTP request; default 5000. */
  batchSize?: number;
  /** Items kept in memory before the oldest are spooled to disk; default 100000. */
  maxBufferedItems?: number;
  /** Spool size limit in bytes; default 1 GiB. Logging throws when it is exceeded. */
  maxSpoolBytes?: number;
  /** Send whatever is buffered at least this often; default 1000 ms. */
  flushIntervalMs?: number;
  /** First and largest retry delay; default 100 ms and 5000 ms. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Per-request timeout; default 30 s. */
  requestTimeoutMs?: number;
}

export class TrackerRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'TrackerRequestError';
  }
}

const retriable = (status: number) => status >= 500 || status === 408 || status === 429;

export class TrackerClient {
  private memory: Item[] = [];
  private seq = 0;
  private acked = 0;
  private readonly spool: BatchSpool;
  private inFlight: SpooledBatch | undefined;
  private pumping: Promise<void> | undefined;
  private readonly waiters: { seq: number; resolve: () => void }[] = [];
  private readonly errors: Error[] = [];
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private readonly o: Required<Omit<TrackerClientOptions, 'spoolDir'>>;

  constructor(options: TrackerClientOptions) {
    if (!isValidRunId(options.run)) throw new Error(`tracker client: run id ${JSON.stringify(options.run)} is not allowed: ${RUN_ID_RULE}`);
    this.o = {
      batchSize: 5000,
      maxBufferedItems: 100_000,
      maxSpoolBytes: 1 << 30,
      flushIntervalMs: 1000,
      retryMinMs: 100,
      retryMaxMs: 5000,
      requestTimeoutMs: 30_000,
      ...options,
      url: options.url.replace(/\/+$/, ''),
    };
    this.spool = new BatchSpool(
      join(options.spoolDir ?? join(tmpdir(), 'patchwork-tracker-spool'), options.run),
      this.o.maxSpoolBytes,
    );
    this.timer = setInterval(() => this.kick(), this.o.flushIntervalMs);
    this.timer.unref();
    if (this.spool.size > 0) this.kick();
  }

  /** Creates the run (or resumes it at `startStep`), retrying while the tracker is unreachable, and returns a client. */
  static async start(
    options: TrackerClientOptions & Omit<StartRun, 'run'> & { startTimeoutMs?: number },
  ): Promise<{ client: TrackerClient; session: StartRunResponse }> {
    const client = new TrackerClient(options);
    const body: StartRun = {
      run: options.run,
      workflowId: options.workflowId,
      startStep: options.startStep,
      hparams: options.hparams,
      experiment: options.experiment,
      skipLogged: options.skipLogged,
    };
    const deadline = Date.now() + (options.startTimeoutMs ?? 300_000);
    try {
      const session = await client.requestWithRetry<StartRunResponse>('/api/runs', body, deadline);
      return { client, session };
    } catch (error) {
      clearInterval(client.timer);
      throw error;
    }
  }

  get run(): string {
    return this.o.run;
  }

  /** Items logged but not yet acknowledged by the tracker (memory + spool files + in flight, spool counted as files). */
  get pending(): { memory: number; spoolFiles: number; inFlight: number } {
    return { memory: this.memory.length, spoolFiles: this.spool.size, inFlight: this.inFlight?.items.length ?? 0 };
  }

  scalar(tag: string, step: number, value: number, wallTime?: number): void {
    this.push({ kind: 'scalar', tag, step, value: toWire(value), ...(wallTime !== undefined ? { wallTime } : {}) });
  }

  /** One or more PNG files (same size) as samples of `tag` at `step`. */
  image(tag: string, step: number, png: Uint8Array | Uint8Array[]): void {
    const list = Array.isArray(png) ? png : [png];
    this.push({ kind: 'image', tag, step, png: list.map((p) => Buffer.from(p).toString('base64')) });
  }

  histogram(tag: string, step: number, values: ArrayLike<number>, buckets?: number): void {
    this.push({ kind: 'histogram', tag, step, values: Array.from(values), ...(buckets ? { buckets } : {}) });
  }

  text(tag: string, step: number, markdown: string): void {
    this.push({ kind: 'text', tag, step, text: markdown });
  }

  hparams(values: Record<string, string | number | boolean>, step?: number): void {
    this.push({ kind: 'hparams', values, ...(step !== undefined ? { step } : {}) });
  }

  /** Registers the run's trained model (storage key, sha256, size, step); retried while the tracker is unreachable. */
  async registerModel(model: RegisterModel, timeoutMs = 120_000): Promise<void> {
    await this.requestWithRetry(`/api/runs/${encodeURIComponent(this.o.run)}/model`, model, Date.now() + timeoutMs);
  }

  /** Publishes (replaces) the run's TensorBoard projector; retried while the tracker is unreachable. */
  async projector(upload: ProjectorUpload, timeoutMs = 120_000): Promise<{ points: number }> {
    return this.requestWithRetry(`/api/runs/${encodeURIComponent(this.o.run)}/projector`, upload, Date.now() + timeoutMs);
  }

  /** Resolves once everything logged before the call, and any spool of an earlier process, is acknowledged; rejects with any permanent error so far. */
  async flush(): Promise<void> {
    const target = this.seq;
    // Spool files left by an earlier process of this run count too: a restarted worker's flush sends them.
    while (this.acked < target || this.spool.size > 0) {
      await new Promise<void>((resolve) => {
        this.waiters.push({ seq: target, resolve });
        this.kick(true);
      });
    }
    if (this.errors.length > 0) {
      const errors = this.errors.splice(0);
      throw new Error(`tracker client (${this.o.run}): ${errors.length} batch(es) were refused: ${errors.map((e) => e.message).join('; ')}`);
    }
  }

  /**
   * Flushes, then marks the run finished when `status` is given. If the tracker does not acknowledge within
   * `timeoutMs`, unsent items are moved to the spool (a later client of this run sends them) and close rejects.
   */
  async close(options: { status?: FinishRun['status']; step?: number; timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.flush(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`tracker ${this.o.url} did not acknowledge within ${options.timeoutMs ?? 120_000} ms; unsent items are in ${this.spool.dir}`)),
            Math.max(0, deadline - Date.now()),
          );
        }),
      ]);
      if (options.status) {
        await this.requestWithRetry(`/api/runs/${encodeURIComponent(this.o.run)}/finish`, { status: options.status, step: options.step }, deadline);
      }
    } finally {
      clearTimeout(timer);
      this.closed = true;
      clearInterval(this.timer);
      this.spillAll();
    }
  }

  private push(item: Item): void {
    if (this.closed) throw new Error(`tracker client (${this.o.run}) is closed; create a new one`);
    this.memory.push(item);
    this.seq++;
    if (this.memory.length > this.o.maxBufferedItems) this.spill(this.memory.length - Math.floor(this.o.maxBufferedItems / 2));
    if (this.memory.length >= this.o.batchSize) this.kick();
  }

  /** Moves the oldest `count` memory items to the spool as batches. */
  private spill(count: number): void {
    while (count > 0 && this.memory.length > 0) {
      const n = Math.min(count, this.o.batchSize, this.memory.length);
      const lastSeq = this.seq - this.memory.length + n;
      this.spool.push({ batchId: randomUUID(), items: this.memory.splice(0, n), lastSeq });
      this.spoolSeqs.push(lastSeq);
      count -= n;
    }
  }

  private readonly spoolSeqs: number[] = [];

  /**
   * Puts everything not yet acknowledged on disk now, without closing: the batch being sent (it stays in flight, and
   * its file goes once the tracker acknowledges it) and every buffered item. A later client of this run on this
   * machine (a restarted worker) sends the files; a batch that arrives twice is written once (batch ids).
   */
  persist(): void {
    const flying = this.inFlight;
    if (flying && !flying.file) flying.file = this.spool.push(flying);
    if (this.memory.length > 0) this.spill(this.memory.length);
  }

  private spillAll(): void {
    // An unacknowledged batch taken from memory is spooled too, under the same id: if its request did reach the
    // tracker after all, the tracker recognises the id when a later client sends the file.
    const flying = this.inFlight;
    if (flying && !flying.file) this.spool.push(flying);
    if (this.memory.length > 0) this.spill(this.memory.length);
  }

  private kick(force = false): void {
    if (this.pumping) return;
    if (!force && this.memory.length === 0 && this.spool.size === 0) return;
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (this.waiters.length > 0 || this.memory.length >= this.o.batchSize || this.spool.size > 0) {
        if (!this.closed) queueMicrotask(() => this.kick(this.waiters.length > 0));
      }
    });
  }

  private async pump(): Promise<void> {
    for (;;) {
      const batch = this.nextBatch();
      if (!batch) return;
      this.inFlight = batch;
      const done = await this.send(batch);
      this.inFlight = undefined;
      if (!done) return; // closed while the tracker was unreachable: the batch stays in (or went to) the spool
      if (batch.file) this.spool.remove(batch.file);
      this.acked = Math.max(this.acked, batch.lastSeq);
      this.wakeWaiters();
    }
  }

  private nextBatch(): SpooledBatch | undefined {
    if (this.spool.size > 0) {
      const batch = this.spool.peek()!;
      const lastSeq = this.spoolSeqs.length > 0 && this.spoolSeqs.length === this.spool.size ? this.spoolSeqs.shift()! : 0;
      return { ...batch, lastSeq };
    }
    if (this.memory.length === 0) {
      this.acked = this.seq;
      this.wakeWaiters();
      return undefined;
    }
    const items = this.memory.splice(0, this.o.batchSize);
    return { batchId: randomUUID(), items, lastSeq: this.seq - this.memory.length };
  }

  private wakeWaiters(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i].seq <= this.acked) this.waiters.splice(i, 1)[0].resolve();
    }
  }

  /**
   * Sends one batch until the tracker acknowledges it (true); a permanent refusal is recorded and the batch dropped
   * (true); false only when the client was closed before the tracker came back.
   */
  private async send(batch: SpooledBatch): Promise<boolean> {
    const path = `/api/runs/${encodeURIComponent(this.o.run)}/batches`;
    try {
      await this.requestWithRetry<BatchResponse>(path, { batchId: batch.batchId, items: batch.items }, Infinity, () => this.closed);
      return true;
    } catch (error) {
      if (this.closed && !(error instanceof TrackerRequestError)) return false;
      if (error instanceof TrackerRequestError && error.status === 413 && batch.items.length > 1) {
        // Too large for the tracker's body limit: send it as two halves, each with its own id.
        const half = Math.ceil(batch.items.length / 2);
        return (
          (await this.send({ batchId: `${batch.batchId}.a`, items: batch.items.slice(0, half), lastSeq: 0 })) &&
          this.send({ batchId: `${batch.batchId}.b`, items: batch.items.slice(half), lastSeq: 0 })
        );
      }
      this.errors.push(error as Error);
      return true;
    }
  }

  private async requestWithRetry<T>(path: string, body: unknown, deadline: number, stop = () => false): Promise<T> {
    const text = JSON.stringify(body);
    let delay = this.o.retryMinMs;
    for (;;) {
      let failure: Error;
      try {
        const response = await fetch(this.o.url + path, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.o.token}`, 'content-type': 'application/json' },
          body: text,
          signal: AbortSignal.timeout(this.o.requestTimeoutMs),
        });
        const reply = await response.text();
        if (response.ok) return JSON.parse(reply) as T;
        const message = `POST ${path} -> ${response.status}: ${reply.slice(0, 500)}`;
        if (!retriable(response.status)) throw new TrackerRequestError(response.status, message);
        failure = new Error(message);
      } catch (error) {
        if (error instanceof TrackerRequestError) throw error;
        failure = error as Error;
      }
      if (Date.now() + delay > deadline || stop()) {
        throw new Error(`tracker ${this.o.url} unreachable (${failure.message}); is it running? (patchwork up / PATCHWORK_TRACKER_URL)`);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(this.o.retryMaxMs, delay * 2);
    }
  }
}
