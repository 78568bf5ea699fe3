// Appends TensorBoard events for one run directory to one new file per process session.
// Records are buffered and written in batches; a record is never split across write calls.
import { mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { EventProto } from './protos.ts';
import { frameRecord } from './record.ts';
import { encodePng, toUint8Image, type RawImage } from './image.ts';
import { bucketize } from './histogram.ts';
import {
  histogramValue,
  imageValue,
  legacyScalarValue,
  scalarValue,
  textValue,
  type ScalarForm,
  type SummaryValueObject,
} from './summary-values.ts';
import {
  hparamsExperimentValue,
  hparamsSessionEndValue,
  hparamsSessionStartValue,
  type ExperimentSpec,
  type HParamValue,
  type SessionStartOptions,
  type SessionStatus,
} from './hparams.ts';

export const FILE_VERSION = 'brain.Event:2';

export interface EventFileWriterOptions {
  /** First step this session logs: 0 for a fresh run, checkpoint step + 1 on resume. Older steps are refused. */
  startStep?: number;
  /** Write buffered records at least this often (ms); default 2000. */
  flushMs?: number;
  /** Also write once this many bytes are buffered; default 1 MiB. */
  maxBufferedBytes?: number;
  /** Source of wall times in seconds; default Date.now() / 1000. */
  clock?: () => number;
  /**
   * How addScalar encodes values: 'tensor' (default; rank-0 DT_FLOAT with "scalars" metadata, what current
   * TensorBoard writers emit) or 'simple_value' (legacy float32, which the standalone EventAccumulator purges on
   * resume; see legacyScalarValue).
   */
  scalarForm?: ScalarForm;
  /**
   * Write SessionLog START at startStep after the file version (default true). false continues a session in a new
   * file without purging anything, e.g. after the writing process restarted while the run itself went on.
   */
  sessionStart?: boolean;
}

const liveDirs = new Set<string>();
let fileCounter = 0;

/** Seconds since the epoch; values this large are milliseconds passed by mistake. */
function checkWallTime(wallTime: number, where: string): number {
  if (!Number.isFinite(wallTime) || wallTime < 0 || wallTime > 1e11) {
    throw new Error(
      `${where}: wall time must be seconds since the epoch (Date.now() / 1000), got ${wallTime}`,
    );
  }
  return wallTime;
}

function checkStep(step: number, where: string): void {
  if (!Number.isSafeInteger(step) || step < 0) {
    throw new Error(`${where}: step must be a non-negative integer, got ${step}`);
  }
}

/** A file name that sorts after every event file already in `dir` (TensorBoard reads a run's files in name order). */
export function nextEventFileName(dir: string, nowSeconds: number): string {
  const existing = readdirSync(dir)
    .filter((n) => n.includes('tfevents'))
    .sort();
  const last = existing.at(-1);
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '_');
  const counter = fileCounter++;
  const lastSeconds = last?.match(/^events\.out\.tfevents\.(\d{10})\./)?.[1];
  let seconds = Math.max(Math.floor(nowSeconds), Number(lastSeconds ?? 0));
  const name = () =>
    `events.out.tfevents.${String(seconds).padStart(10, '0')}.${host}.${process.pid}.${counter}`;
  for (let i = 0; i < 2 && last !== undefined && name() <= last; i++) seconds++;
  if (last !== undefined && name() <= last) {
    throw new Error(
      `EventFileWriter(${dir}): cannot name a new event file that sorts after "${last}" (TensorBoard reads a run's ` +
        'files in name order); move that file out of the run directory or use a new one',
    );
  }
  return name();
}

export class EventFileWriter {
  private pending: (Buffer | Promise<Buffer>)[] = [];
  private pendingBytes = 0;
  private readonly lastStepByTag = new Map<string, number>();
  private writeChain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private closed = false;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    readonly dir: string,
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly realDir: string,
    readonly startStep: number,
    private readonly options: Required<
      Pick<EventFileWriterOptions, 'maxBufferedBytes' | 'clock' | 'scalarForm'>
    >,
    flushMs: number,
  ) {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), flushMs);
    this.timer.unref();
  }

  /** Creates `dir` if needed, opens a new event file in it and writes the file_version and SessionLog START records. */
  static async open(dir: string, options: EventFileWriterOptions = {}): Promise<EventFileWriter> {
    const startStep = options.startStep ?? 0;
    checkStep(startStep, `EventFileWriter(${dir}) startStep`);
    const flushMs = options.flushMs ?? 2000;
    if (!(flushMs > 0)) throw new Error(`EventFileWriter(${dir}): flushMs must be > 0, got ${flushMs}`);
    const clock = options.clock ?? (() => Date.now() / 1000);
    mkdirSync(dir, { recursive: true });
    const realDir = realpathSync(dir);
    if (liveDirs.has(realDir)) {
      throw new Error(
        `EventFileWriter(${dir}): another writer in this process is still open on this run directory; ` +
          'close it first (two writers on one run lose data in TensorBoard)',
      );
    }
    liveDirs.add(realDir);
    try {
      const now = checkWallTime(clock(), `EventFileWriter(${dir}) clock`);
      const path = join(dir, nextEventFileName(dir, now));
      const handle = await open(path, 'wx');
      const writer = new EventFileWriter(
        dir,
        path,
        handle,
        realDir,
        startStep,
        {
          maxBufferedBytes: options.maxBufferedBytes ?? 1 << 20,
          clock,
          scalarForm: options.scalarForm ?? 'tensor',
        },
        flushMs,
      );
      writer.appendEvent({
        wall_time: now,
        file_version: FILE_VERSION,
        source_metadata: { writer: 'patchwork' },
      });
      // Makes every TensorBoard reader drop points >= startStep left by an earlier, crashed session.
      if (options.sessionStart ?? true) {
        writer.appendEvent({ wall_time: now, step: startStep, session_log: { status: 1 } });
      }
      await writer.flush();
      return writer;
    } catch (error) {
      liveDirs.delete(realDir);
      throw error;
    }
  }

  addScalar(tag: string, value: number, step: number, wallTime?: number): void {
    const summary =
      this.options.scalarForm === 'simple_value' ? legacyScalarValue(tag, value) : scalarValue(tag, value);
    this.addValues(step, [summary], wallTime);
  }

  addText(tag: string, markdown: string, step: number, wallTime?: number): void {
    this.addValues(step, [textValue(tag, markdown)], wallTime);
  }

  /** Histogram of `values` with `buckets` equal-width buckets (default 30). */
  addHistogram(
    tag: string,
    values: ArrayLike<number>,
    step: number,
    options: { buckets?: number; wallTime?: number } = {},
  ): void {
    const buckets = bucketize(values, options.buckets, `histogram "${tag}" step ${step}`);
    this.addValues(step, [histogramValue(tag, buckets)], options.wallTime);
  }

  /** One or more same-sized images as samples of one tag at one step; PNG-encoded before writing. */
  addImages(tag: string, images: RawImage | RawImage[], step: number, wallTime?: number): Promise<void> {
    const list = Array.isArray(images) ? images : [images];
    if (list.length === 0) throw new Error(`image "${tag}" step ${step}: need at least one image`);
    const checked = list.map((im, i) => toUint8Image(im, `image "${tag}" step ${step} sample ${i}`));
    const { width, height } = checked[0];
    checked.forEach((im, i) => {
      if (im.width !== width || im.height !== height) {
        throw new Error(
          `image "${tag}" step ${step}: sample ${i} is ${im.height}x${im.width}, sample 0 is ${height}x${width}`,
        );
      }
    });
    const encoded = Promise.all(checked.map((im) => encodePng(im))).then((pngs) => [
      imageValue(tag, width, height, pngs),
    ]);
    return this.addValuesLater(step, [tag], encoded, wallTime);
  }

  addHparamsExperiment(spec: ExperimentSpec, step = this.startStep): void {
    this.addValues(step, [hparamsExperimentValue(spec)]);
  }

  addHparamsSessionStart(
    values: Record<string, HParamValue>,
    options: SessionStartOptions = {},
    step = this.startStep,
  ): void {
    this.addValues(step, [hparamsSessionStartValue(values, options)]);
  }

  addHparamsSessionEnd(status: SessionStatus, step: number, endTimeSecs?: number): void {
    this.addValues(step, [hparamsSessionEndValue(status, endTimeSecs)]);
  }

  /** Writes prepared Summary.Values as one event at `step`. */
  addValues(step: number, values: SummaryValueObject[], wallTime?: number): void {
    this.reserve(
      step,
      values.map((v) => v.tag),
    );
    this.appendEvent({ wall_time: this.wallTime(wallTime), step, summary: { value: values } });
  }

  /** Like addValues for values still being computed (e.g. PNG encoding); the record keeps its place in call order. */
  addValuesLater(
    step: number,
    tags: string[],
    values: Promise<SummaryValueObject[]>,
    wallTime?: number,
  ): Promise<void> {
    this.reserve(step, tags);
    const time = this.wallTime(wallTime);
    const record = values.then((v) => this.encode({ wall_time: time, step, summary: { value: v } }));
    this.pending.push(record);
    return record.then(() => undefined);
  }

  /** Writes everything buffered so far. */
  async flush(): Promise<void> {
    const batch = this.pending.splice(0);
    this.pendingBytes = 0;
    // Chained so batches reach the file in call order even while an earlier one still waits for PNG encoding.
    if (batch.length > 0) this.writeChain = this.writeChain.then(() => this.writeBatch(batch));
    await this.writeChain;
    this.throwIfFailed();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    try {
      await this.flush();
    } finally {
      this.closed = true;
      liveDirs.delete(this.realDir);
      await this.handle.close();
    }
  }

  /** Never rejects: a failure is kept and reported by the next call on the writer. */
  private async writeBatch(batch: (Buffer | Promise<Buffer>)[]): Promise<void> {
    const settled = await Promise.allSettled(batch);
    const ready = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (rejected)
      this.failure ??=
        rejected.reason instanceof Error ? rejected.reason : new Error(String(rejected.reason));
    try {
      const data = ready.length === 1 ? ready[0] : Buffer.concat(ready);
      let offset = 0;
      while (offset < data.length) {
        const { bytesWritten } = await this.handle.write(data, offset, data.length - offset);
        offset += bytesWritten;
      }
    } catch (error) {
      this.failure ??= error as Error;
    }
  }

  private throwIfFailed(): void {
    if (this.failure)
      throw new Error(`EventFileWriter(${this.path}): an earlier write failed: ${this.failure.message}`, {
        cause: this.failure,
      });
  }

  private wallTime(wallTime: number | undefined): number {
    return checkWallTime(wallTime ?? this.options.clock(), `EventFileWriter(${this.dir})`);
  }

  /** Refuses a (tag, step) this file already has, or a step that goes backwards for its tag. */
  private reserve(step: number, tags: string[]): void {
    if (this.closed) throw new Error(`EventFileWriter(${this.path}) is closed; open a new writer`);
    this.throwIfFailed();
    checkStep(step, `EventFileWriter(${this.dir}) tags ${tags.join(', ')}`);
    if (step < this.startStep) {
      throw new Error(
        `EventFileWriter(${this.dir}): step ${step} is before this session's start step ${this.startStep}; ` +
          'a resumed session may only log steps >= its start step',
      );
    }
    const seen = new Set<string>();
    for (const tag of tags) {
      const last = this.lastStepByTag.get(tag);
      if (seen.has(tag) || (last !== undefined && step <= last)) {
        const what =
          seen.has(tag) || step === last
            ? `already has step ${step}`
            : `is at step ${last}, got step ${step}`;
        throw new Error(
          `EventFileWriter(${this.dir}): tag "${tag}" ${what}; each (tag, step) is written once per file and steps ` +
            'must increase per tag (on resume, open a new writer with startStep = checkpoint step + 1)',
        );
      }
      seen.add(tag);
    }
    for (const tag of tags) this.lastStepByTag.set(tag, step);
  }

  // Events are built here from typed helpers (Buffers for bytes, numbers for enums), so they are encoded directly:
  // protobufjs's fromObject would only copy them again.
  private encode(event: Record<string, unknown>): Buffer {
    return frameRecord(EventProto.encode(event).finish());
  }

  private appendEvent(event: Record<string, unknown>): void {
    const record = this.encode(event);
    this.pending.push(record);
    this.pendingBytes += record.length;
    if (this.pendingBytes >= this.options.maxBufferedBytes) void this.flush().catch(() => undefined);
  }
}
