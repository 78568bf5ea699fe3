// Run registry tables (drizzle). The SQL that creates them is in migrations/, applied at startup by openTrackerDb;
// change both together (a new numbered migration, never an edit of an applied one).
import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const RUN_STATUSES = ['running', 'paused', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const runs = sqliteTable('runs', {
  /** Run id = the directory under the log dir; usually the Temporal workflow id. */
  id: text('id').primaryKey(),
  workflowId: text('workflow_id'),
  status: text('status', { enum: RUN_STATUSES }).notNull(),
  /** JSON object of hparam name -> string | number | boolean. */
  hparams: text('hparams', { mode: 'json' }).$type<Record<string, string | number | boolean>>(),
  startedAt: integer('started_at', { mode: 'timestamp_ms' }).notNull(),
  endedAt: integer('ended_at', { mode: 'timestamp_ms' }),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  /** Highest step logged so far (null before the first value). */
  lastStep: integer('last_step'),
  /** Start step of the current session (0 for a fresh run, checkpoint step + 1 after a resume). */
  sessionStartStep: integer('session_start_step').notNull(),
  sessions: integer('sessions').notNull(),
  /** The trained model a worker registered for this run (storage key, content hash, size, step). */
  model: text('model', { mode: 'json' }).$type<RunModel>(),
});

export interface RunModel {
  /** Where the model lives, e.g. runs/<run>/model/model.json in the run's store. */
  key: string;
  /** sha256 (hex) over the model's files, in the order listed by `files`. */
  sha256: string;
  bytes: number;
  step: number;
  registeredAt: string;
}

export const runTags = sqliteTable(
  'run_tags',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    tag: text('tag').notNull(),
    kind: text('kind', { enum: ['scalar', 'image', 'histogram', 'text'] }).notNull(),
    lastStep: integer('last_step').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.tag] })],
);

/** Batch ids already written, so a retried batch is acknowledged without being written twice. */
export const batches = sqliteTable(
  'batches',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    batchId: text('batch_id').notNull(),
    items: integer('items').notNull(),
    written: integer('written').notNull(),
    receivedAt: integer('received_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.batchId] })],
);

export type RunRow = typeof runs.$inferSelect;
export type RunTagRow = typeof runTags.$inferSelect;
