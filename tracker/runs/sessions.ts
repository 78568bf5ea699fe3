// One EventFileWriter per live run, and the rules that make ingest safe to retry:
// - a batch is validated completely before anything is written (a 400 writes nothing);
// - a batch id already recorded is acknowledged without writing (a retry);
// - a (tag, step) the run already has is skipped, so a batch retried after a tracker crash is not written twice
//   (after a restart, the run's event files are scanned to learn the last step per tag);
// - the batch is on disk (written to the file) before it is recorded and acknowledged.
// Batches of one run are applied one at a time, in arrival order.
import {
  bucketize,
  EventFileWriter,
  HPARAMS_TAGS,
  hparamsExperimentValue,
  hparamsSessionEndValue,
  hparamsSessionStartValue,
  histogramValue,
  imageValue,
  legacyScalarValue,
  textValue,
  type SummaryValueObject,
} from '../../tensorboard-format/index.ts';
import type { RunRegistry, TagKind } from '../db/registry.ts';
import type { RunRow } from '../db/schema.ts';
import { TrackerError } from './errors.ts';
import {
  fromWire,
  MAX_STEP,
  type Batch,
  type BatchResponse,
  type FinishRun,
  type ProjectorUpload,
  type RegisterModel,
  type StartRun,
  type StartRunResponse,
} from '../../contracts/tracker-runs.ts';
import { runDir } from './names.ts';
import { writeUploadedProjector } from './projector-upload.ts';
import { pngSize } from './png.ts';
import { applyStart, scanLastSteps } from './scan.ts';

interface Session {
  writer: EventFileWriter;
  startStep: number;
  lastStep: Map<string, number>;
}

interface PlannedValue {
  step: number;
  wallTime?: number;
  value: SummaryValueObject;
  kind: TagKind | 'hparams';
}

/** Errors of a pure function on one item's input are the client's: a 400 naming the item. */
function inputError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw new TrackerError(400, (error as Error).message);
  }
}

export interface RunSessionsOptions {
  /** Passed to EventFileWriter; batches are flushed before they are acknowledged anyway. Default 2000. */
  flushMs?: number;
}

export class RunSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    readonly logDir: string,
    readonly registry: RunRegistry,
    private readonly options: RunSessionsOptions = {},
  ) {}

  /** Creates a run, or resumes one: a new event file whose SessionLog START (at startStep) purges later points. */
  start(input: StartRun): Promise<StartRunResponse> {
    return this.serial(input.run, async () => {
      const dir = runDir(this.logDir, input.run);
      await this.closeSession(input.run);
      const existing = this.registry.get(input.run);
      const lastStep = await scanLastSteps(dir);
      if (input.skipLogged) return this.continueSkippingLogged(input, dir, lastStep, existing !== undefined);
      const startStep = input.startStep ?? (lastStep.size > 0 ? Math.max(...lastStep.values()) + 1 : 0);
      if (startStep > Number.MAX_SAFE_INTEGER)
        throw new TrackerError(
          409,
          `run ${input.run} has used every step: its next step would be ${startStep}, past the last exact integer ${Number.MAX_SAFE_INTEGER}; log to a new run`,
        );
      applyStart(lastStep, startStep);
      const writer = await this.openWriter(dir, startStep, true);
      const session: Session = { writer, startStep, lastStep };
      this.sessions.set(input.run, session);
      if (input.hparams) {
        writer.addValues(startStep, [...experimentValues(input), hparamsSessionStartValue(input.hparams)]);
        lastStep.set(HPARAMS_TAGS.sessionStart, startStep);
      }
      await writer.flush();
      this.registry.startSession({
        id: input.run,
        workflowId: input.workflowId,
        hparams: input.hparams,
        startStep,
      });
      return { run: input.run, startStep, resumed: existing !== undefined, file: writer.path };
    });
  }

  /** A session from step 0 that writes no START: items at or below a tag's last step on disk are skipped. */
  private async continueSkippingLogged(
    input: StartRun,
    dir: string,
    lastStep: Map<string, number>,
    resumed: boolean,
  ): Promise<StartRunResponse> {
    const writer = await this.openWriter(dir, 0, false);
    this.sessions.set(input.run, { writer, startStep: 0, lastStep });
    if (input.hparams && !lastStep.has(HPARAMS_TAGS.sessionStart)) {
      writer.addValues(0, [...experimentValues(input), hparamsSessionStartValue(input.hparams)]);
      lastStep.set(HPARAMS_TAGS.sessionStart, 0);
    }
    await writer.flush();
    this.registry.startSession({
      id: input.run,
      workflowId: input.workflowId,
      hparams: input.hparams,
      startStep: 0,
      keepSteps: true,
    });
    const next = lastStep.size > 0 ? Math.max(...lastStep.values()) + 1 : 0;
    return { run: input.run, startStep: next, resumed, file: writer.path };
  }

  /** Records the run's trained model; the run page and GET /api/runs/:run show it. */
  registerModel(runId: string, model: RegisterModel): Promise<RunRow> {
    return this.serial(runId, async () => {
      this.requireRun(runId);
      return this.registry.setModel(runId, { ...model, registeredAt: new Date().toISOString() })!;
    });
  }

  /** Writes (replaces) the run's projector files next to its event files. */
  writeProjector(runId: string, upload: ProjectorUpload): Promise<{ points: number }> {
    return this.serial(runId, async () => {
      this.requireRun(runId);
      return writeUploadedProjector(runDir(this.logDir, runId), upload);
    });
  }

  logBatch(runId: string, batch: Batch): Promise<BatchResponse> {
    return this.serial(runId, async () => {
      const run = this.requireRun(runId);
      if (this.registry.hasBatch(runId, batch.batchId)) {
        return { batchId: batch.batchId, duplicate: true, written: 0, skipped: 0 };
      }
      if (run.status !== 'running' && run.status !== 'paused') {
        throw new TrackerError(
          409,
          `run "${runId}" is ${run.status}; start a new session with POST /api/runs {"run": "${runId}"} to log more`,
        );
      }
      const session = await this.session(run);
      const { planned, skipped, hparams } = this.plan(session, batch);
      this.write(session, planned);
      await this.flushOrDrop(runId, session);
      const tags = new Map<string, { kind: TagKind; lastStep: number }>();
      for (const p of planned) {
        if (p.kind !== 'hparams') tags.set(p.value.tag, { kind: p.kind, lastStep: p.step });
      }
      this.registry.recordBatch({
        runId,
        batchId: batch.batchId,
        items: batch.items.length,
        written: planned.length,
        tags,
        hparams,
      });
      return { batchId: batch.batchId, duplicate: false, written: planned.length, skipped };
    });
  }

  finish(runId: string, input: FinishRun): Promise<RunRow> {
    return this.serial(runId, async () => {
      const run = this.requireRun(runId);
      if (run.hparams && input.status !== 'paused') {
        const session = await this.session(run);
        const last = Math.max(session.startStep, ...session.lastStep.values());
        const step = input.step ?? last;
        const previous = session.lastStep.get(HPARAMS_TAGS.sessionEnd);
        if (previous === undefined || step > previous) {
          const status = input.status === 'completed' ? 'success' : 'failure';
          session.writer.addValues(step, [hparamsSessionEndValue(status, Date.now() / 1000)]);
          session.lastStep.set(HPARAMS_TAGS.sessionEnd, step);
        }
      }
      if (input.status !== 'paused') await this.closeSession(runId);
      else await this.sessions.get(runId)?.writer.flush();
      return this.registry.finish(runId, input.status)!;
    });
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled(
      [...this.sessions.keys()].map((id) => this.serial(id, () => this.closeSession(id))),
    );
  }

  private requireRun(runId: string): RunRow {
    const run = this.registry.get(runId);
    if (!run) {
      throw new TrackerError(
        404,
        `run "${runId}" is not registered; create it first with POST /api/runs {"run": "${runId}"}`,
      );
    }
    return run;
  }

  /** The open session, or a continuation after a tracker restart: a new file, no START, steps learned from disk. */
  private async session(run: RunRow): Promise<Session> {
    const open = this.sessions.get(run.id);
    if (open) return open;
    const dir = runDir(this.logDir, run.id);
    const lastStep = await scanLastSteps(dir);
    const writer = await this.openWriter(dir, run.sessionStartStep, false);
    const session: Session = { writer, startStep: run.sessionStartStep, lastStep };
    this.sessions.set(run.id, session);
    return session;
  }

  private openWriter(dir: string, startStep: number, sessionStart: boolean): Promise<EventFileWriter> {
    return EventFileWriter.open(dir, {
      startStep,
      sessionStart,
      scalarForm: 'simple_value',
      flushMs: this.options.flushMs ?? 2000,
    });
  }

  /** Validates every item and builds its summary value; throws (400) before anything is written. */
  private plan(session: Session, batch: Batch) {
    const planned: PlannedValue[] = [];
    const inBatch = new Map<string, number>();
    let skipped = 0;
    let hparams: Record<string, string | number | boolean> | undefined;
    batch.items.forEach((item, i) => {
      const where = `items.${i}`;
      const tag = item.kind === 'hparams' ? HPARAMS_TAGS.sessionStart : item.tag;
      const step = item.step ?? session.startStep;
      const onDisk = session.lastStep.get(tag);
      if (step < session.startStep && !(onDisk !== undefined && step <= onDisk)) {
        throw new TrackerError(
          400,
          `${where}.step: ${step} is before this session's start step ${session.startStep}; ` +
            'to rewrite earlier steps, resume the run with POST /api/runs {"run": ..., "startStep": <step>}',
        );
      }
      const earlier = inBatch.get(tag);
      if (earlier !== undefined && step <= earlier) {
        throw new TrackerError(
          400,
          `${where}.step: tag "${tag}" step ${step} comes after step ${earlier} in this batch; steps must increase per tag`,
        );
      }
      inBatch.set(tag, step);
      if (onDisk !== undefined && step <= onDisk) {
        skipped++;
        return;
      }
      const wallTime = 'wallTime' in item ? item.wallTime : undefined;
      switch (item.kind) {
        case 'scalar':
          planned.push({
            step,
            wallTime,
            kind: 'scalar',
            value: legacyScalarValue(tag, fromWire(item.value)),
          });
          break;
        case 'text':
          planned.push({ step, wallTime, kind: 'text', value: textValue(tag, item.text) });
          break;
        case 'histogram':
          planned.push({
            step,
            wallTime,
            kind: 'histogram',
            value: histogramValue(
              tag,
              inputError(() => bucketize(item.values, item.buckets, `${where}.values`)),
            ),
          });
          break;
        case 'image': {
          const pngs = item.png.map((b64) => Buffer.from(b64, 'base64'));
          const sizes = pngs.map((png, j) => pngSize(png, `${where}.png.${j}`));
          const { width, height } = sizes[0];
          sizes.forEach((s, j) => {
            if (s.width !== width || s.height !== height) {
              throw new TrackerError(
                400,
                `${where}.png.${j}: is ${s.width}x${s.height}, png.0 is ${width}x${height}; samples of one tag must have one size`,
              );
            }
          });
          planned.push({ step, wallTime, kind: 'image', value: imageValue(tag, width, height, pngs) });
          break;
        }
        case 'hparams':
          hparams = item.values;
          planned.push({ step, kind: 'hparams', value: hparamsSessionStartValue(item.values) });
          break;
      }
    });
    return { planned, skipped, hparams };
  }

  /** Consecutive values at one step (and wall time) share one event, as TensorFlow's writers do. */
  private write(session: Session, planned: PlannedValue[]): void {
    let i = 0;
    while (i < planned.length) {
      const { step, wallTime } = planned[i];
      const values: SummaryValueObject[] = [];
      const tags = new Set<string>();
      while (
        i < planned.length &&
        planned[i].step === step &&
        planned[i].wallTime === wallTime &&
        !tags.has(planned[i].value.tag)
      ) {
        tags.add(planned[i].value.tag);
        values.push(planned[i++].value);
      }
      session.writer.addValues(step, values, wallTime);
      for (const tag of tags) session.lastStep.set(tag, step);
    }
  }

  private async flushOrDrop(runId: string, session: Session): Promise<void> {
    try {
      await session.writer.flush();
    } catch (error) {
      // The file may hold part of the batch; the next batch continues in a new file after re-reading what is on disk.
      this.sessions.delete(runId);
      await session.writer.close().catch(() => undefined);
      throw new TrackerError(
        500,
        `run "${runId}": writing the event file failed: ${(error as Error).message}`,
      );
    }
  }

  private async closeSession(runId: string): Promise<void> {
    const session = this.sessions.get(runId);
    if (!session) return;
    this.sessions.delete(runId);
    await session.writer.close();
  }

  private serial<T>(runId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(runId) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.catch(() => undefined);
    this.queues.set(runId, settled);
    void settled.then(() => {
      if (this.queues.get(runId) === settled) this.queues.delete(runId);
    });
    return next;
  }
}

/** The HParams experiment (dashboard columns) a run declares, written once next to its session start. */
function experimentValues(input: StartRun) {
  if (!input.experiment) return [];
  const { hparams, metrics } = input.experiment;
  return [hparamsExperimentValue({ hparams: hparams.map((name) => ({ name })), metrics: metrics.map((tag) => ({ tag })) })];
}
