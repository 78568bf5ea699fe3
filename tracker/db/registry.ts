// Run registry: what runs exist, their status, hparams, sessions, last step and tags. Event files stay the source of
// truth for logged values; this is the index the pages and the API answer from.
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { TrackerDb } from './index.ts';
import { batches, runs, runTags, type RunModel, type RunRow, type RunStatus, type RunTagRow } from './schema.ts';

export type HParams = Record<string, string | number | boolean>;
export type TagKind = RunTagRow['kind'];

export class RunRegistry {
  constructor(readonly db: TrackerDb) {}

  get(id: string): RunRow | undefined {
    return this.db.select().from(runs).where(eq(runs.id, id)).get();
  }

  list(limit = 500): RunRow[] {
    return this.db.select().from(runs).orderBy(desc(runs.startedAt), runs.id).limit(limit).all();
  }

  /**
   * Registers a new session of a run: creates the run, or marks an existing one running again from `startStep`.
   * `keepSteps`: the session discards nothing (it skips what the run has), so tags and last step stay as they are.
   */
  startSession(input: { id: string; workflowId?: string; hparams?: HParams; startStep: number; keepSteps?: boolean; now?: Date }): RunRow {
    const now = input.now ?? new Date();
    return this.db.transaction((tx) => {
      const existing = tx.select().from(runs).where(eq(runs.id, input.id)).get();
      if (!existing) {
        return tx
          .insert(runs)
          .values({
            id: input.id,
            workflowId: input.workflowId ?? null,
            status: 'running',
            hparams: input.hparams ?? null,
            startedAt: now,
            updatedAt: now,
            lastStep: null,
            sessionStartStep: input.startStep,
            sessions: 1,
          })
          .returning()
          .get();
      }
      if (input.keepSteps) {
        return tx
          .update(runs)
          .set({
            status: 'running',
            workflowId: input.workflowId ?? existing.workflowId,
            hparams: input.hparams ?? existing.hparams,
            endedAt: null,
            updatedAt: now,
            sessionStartStep: input.startStep,
            sessions: existing.sessions + 1,
          })
          .where(eq(runs.id, input.id))
          .returning()
          .get();
      }
      // Tags whose last step the new session will overwrite go back to the step before it.
      tx.update(runTags)
        .set({ lastStep: input.startStep - 1 })
        .where(and(eq(runTags.runId, input.id), sql`${runTags.lastStep} >= ${input.startStep}`))
        .run();
      tx.delete(runTags).where(and(eq(runTags.runId, input.id), sql`${runTags.lastStep} < 0`)).run();
      return tx
        .update(runs)
        .set({
          status: 'running',
          workflowId: input.workflowId ?? existing.workflowId,
          hparams: input.hparams ?? existing.hparams,
          endedAt: null,
          updatedAt: now,
          lastStep:
            existing.lastStep === null || existing.lastStep < input.startStep
              ? existing.lastStep
              : input.startStep > 0
                ? input.startStep - 1
                : null,
          sessionStartStep: input.startStep,
          sessions: existing.sessions + 1,
        })
        .where(eq(runs.id, input.id))
        .returning()
        .get();
    });
  }

  /** True when this batch id was already written for the run. */
  hasBatch(runId: string, batchId: string): boolean {
    return (
      this.db
        .select({ id: batches.batchId })
        .from(batches)
        .where(and(eq(batches.runId, runId), eq(batches.batchId, batchId)))
        .get() !== undefined
    );
  }

  /**
   * Forgets batch ids received before `before`. A batch re-sent after that is checked against the run's (tag, step)
   * pairs instead, so pruning never doubles a value; it only bounds the table. Returns how many were removed.
   */
  pruneBatches(before: Date): number {
    return this.db.delete(batches).where(lt(batches.receivedAt, before)).run().changes;
  }

  /** Records a written batch and what it touched, in one transaction. */
  recordBatch(input: {
    runId: string;
    batchId: string;
    items: number;
    written: number;
    tags: Map<string, { kind: TagKind; lastStep: number }>;
    /** hparams logged in this batch, if any. */
    hparams?: HParams;
    now?: Date;
  }): void {
    const now = input.now ?? new Date();
    this.db.transaction((tx) => {
      tx.insert(batches)
        .values({ runId: input.runId, batchId: input.batchId, items: input.items, written: input.written, receivedAt: now })
        .onConflictDoNothing()
        .run();
      let maxStep = -1;
      for (const [tag, { kind, lastStep }] of input.tags) {
        maxStep = Math.max(maxStep, lastStep);
        tx.insert(runTags)
          .values({ runId: input.runId, tag, kind, lastStep })
          .onConflictDoUpdate({
            target: [runTags.runId, runTags.tag],
            set: { lastStep: sql`max(${runTags.lastStep}, excluded.last_step)`, kind },
          })
          .run();
      }
      tx.update(runs)
        .set({
          updatedAt: now,
          ...(input.hparams ? { hparams: input.hparams } : {}),
          ...(maxStep >= 0 ? { lastStep: sql`max(coalesce(${runs.lastStep}, -1), ${maxStep})` } : {}),
        })
        .where(eq(runs.id, input.runId))
        .run();
    });
  }

  finish(id: string, status: RunStatus, now = new Date()): RunRow | undefined {
    return this.db
      .update(runs)
      .set({ status, endedAt: status === 'running' || status === 'paused' ? null : now, updatedAt: now })
      .where(eq(runs.id, id))
      .returning()
      .get();
  }

  /** Records the run's trained model (the latest registration wins). */
  setModel(id: string, model: RunModel, now = new Date()): RunRow | undefined {
    return this.db.update(runs).set({ model, updatedAt: now }).where(eq(runs.id, id)).returning().get();
  }

  tags(id: string): RunTagRow[] {
    return this.db.select().from(runTags).where(eq(runTags.runId, id)).orderBy(runTags.tag).all();
  }
}
