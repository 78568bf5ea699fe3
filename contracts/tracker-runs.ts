// Wire format of the ingest API, shared by the server (validation) and the client (types).
// JSON has no NaN or infinities: scalar values may be the strings "NaN", "Infinity" and "-Infinity".
import { z } from 'zod';
import { RUN_ID_PATTERN, RUN_ID_RULE } from './run-id.ts';

export const runIdSchema = z.string().regex(RUN_ID_PATTERN, RUN_ID_RULE);
const tag = z
  .string()
  .min(1, 'tag must not be empty')
  .max(256, 'tag is longer than 256 characters')
  .refine((t) => !t.startsWith('_hparams_/'), 'tags starting with "_hparams_/" are reserved; use an hparams item');
/** The largest step: a resumed run starts after its last step, and that next step must still be an exact integer. */
export const MAX_STEP = Number.MAX_SAFE_INTEGER - 1;
const step = z
  .number()
  .int('step must be an integer')
  .min(0, 'step must be >= 0')
  .max(MAX_STEP, `step must be <= ${MAX_STEP} (2^53 - 2)`);
/** Seconds since the epoch (not milliseconds). */
const wallTime = z.number().min(0).max(1e11, 'wallTime is seconds since the epoch (Date.now() / 1000), not ms').optional();
const hparamValue = z.union([z.string().max(1000), z.number().finite(), z.boolean()]);
export const hparamsSchema = z.record(z.string().min(1).max(256), hparamValue);

export type WireNumber = number | 'NaN' | 'Infinity' | '-Infinity';
export const wireNumber = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity'])], {
  errorMap: () => ({ message: 'expected a number or one of "NaN", "Infinity", "-Infinity"' }),
});

export function toWire(value: number): WireNumber {
  if (Number.isFinite(value)) return value;
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
}

export function fromWire(value: WireNumber): number {
  return typeof value === 'number' ? value : Number(value);
}

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64 text');

export const itemSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('scalar'), tag, step, value: wireNumber, wallTime }).strict(),
  z
    .object({
      kind: z.literal('image'),
      tag,
      step,
      /** One or more PNG files (same size), base64; several are samples of one tag at one step. */
      png: z.array(base64).min(1, 'png needs at least one image').max(64),
      wallTime,
    })
    .strict(),
  z
    .object({
      kind: z.literal('histogram'),
      tag,
      step,
      values: z
        .array(z.number().finite('histogram values must be finite numbers (filter NaN and infinities first)'))
        .min(1, 'values must not be empty')
        .max(1_000_000),
      buckets: z.number().int().min(1).max(1000).optional(),
      wallTime,
    })
    .strict(),
  z.object({ kind: z.literal('text'), tag, step, text: z.string().max(1 << 20), wallTime }).strict(),
  z.object({ kind: z.literal('hparams'), values: hparamsSchema, step: step.optional() }).strict(),
]);
export type Item = z.infer<typeof itemSchema>;

export const MAX_BATCH_ITEMS = 100_000;

export const batchSchema = z
  .object({
    /** Chosen by the client (e.g. a UUID) and kept across retries: a batch id is written at most once per run. */
    batchId: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'batchId must be 1-128 characters of [A-Za-z0-9._:-]'),
    items: z.array(itemSchema).max(MAX_BATCH_ITEMS, `a batch holds at most ${MAX_BATCH_ITEMS} items; send several`),
  })
  .strict();
export type Batch = z.infer<typeof batchSchema>;

export const startRunSchema = z
  .object({
    run: runIdSchema,
    workflowId: z.string().min(1).max(1000).optional(),
    /** First step of this session: omit for a new run (0) or to continue after the last logged step. */
    startStep: step.optional(),
    hparams: hparamsSchema.optional(),
    /**
     * The columns of TensorBoard's HParams dashboard: hparam names and metric tags. TensorBoard takes the first
     * experiment it finds in the log dir, so every run of one kind should declare the same (all names any run of that
     * kind has); without one it shows every scalar tag as a metric.
     */
    experiment: z
      .object({
        hparams: z.array(z.string().min(1).max(256)).max(1000),
        metrics: z.array(tag).min(1, 'experiment.metrics: declare at least one metric tag').max(100),
      })
      .strict()
      .optional(),
    /**
     * Continue without discarding anything: no SessionLog START is written and every (tag, step) the run already
     * has is skipped, at any step. For workers that resume from a checkpoint and re-send steps they may have logged
     * before (deterministic training re-sends the same values). Cannot be combined with startStep.
     */
    skipLogged: z.boolean().optional(),
  })
  .strict()
  .refine((body) => !(body.skipLogged && body.startStep !== undefined), {
    message: 'skipLogged continues where the run is and cannot take a startStep; send one or the other',
    path: ['startStep'],
  });
export type StartRun = z.infer<typeof startRunSchema>;

export const finishRunSchema = z
  .object({
    status: z.enum(['completed', 'failed', 'cancelled', 'paused']),
    step: step.optional(),
  })
  .strict();
export type FinishRun = z.infer<typeof finishRunSchema>;

export interface StartRunResponse {
  run: string;
  startStep: number;
  resumed: boolean;
  file: string;
}

export const registerModelSchema = z
  .object({
    key: z.string().min(1).max(1000),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex characters'),
    bytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    step: step,
  })
  .strict();
export type RegisterModel = z.infer<typeof registerModelSchema>;

/** A TensorBoard projector for the run: float32 vectors (little-endian, base64), metadata rows and a sprite. */
export const projectorSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$/, 'name: 1-100 of letters, digits, _ . - (it names a folder)'),
    shape: z.tuple([z.number().int().min(1).max(50_000), z.number().int().min(1).max(16_384)]),
    values: base64,
    metadata: z
      .object({
        columns: z.array(z.string().min(1).max(100).regex(/^[^\t\n]*$/, 'no tabs or newlines')).min(1).max(16),
        rows: z.array(z.array(z.string().max(1000))),
      })
      .strict()
      .optional(),
    /** Thumbnails as one run of N x thumbSize x thumbSize x 3 RGB bytes. */
    sprite: z.object({ thumbSize: z.number().int().min(4).max(128), rgb: base64 }).strict().optional(),
  })
  .strict();
export type ProjectorUpload = z.infer<typeof projectorSchema>;

export interface BatchResponse {
  batchId: string;
  /** true when this batch id had already been written (a retry). */
  duplicate: boolean;
  written: number;
  /** Items whose (tag, step) the run already had, e.g. from a retry after a tracker restart. */
  skipped: number;
}
