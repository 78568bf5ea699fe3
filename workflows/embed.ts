import { continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { EmbedActivities } from '../activities/embed.ts';
import { TASK_QUEUES } from '../contracts/task-queues.ts';
import { embedProgressQuery, type EmbedCarried, type EmbedInput, type EmbedProgress, type EmbedResult } from '../contracts/embed.ts';
import { embeddingsPrefix } from '../storage/layout.ts';
import { definedOnly, LONG_ACTIVITY_HEARTBEAT_TIMEOUT_MS } from './options.ts';

const DEFAULTS = {
  chunkSize: 512,
  batchSize: 32,
  projectorLimit: 2000,
  thumbSize: 32,
  projectorPooling: 'max' as 'max' | 'avg',
  chunksPerRun: 100,
  heartbeatTimeoutMs: LONG_ACTIVITY_HEARTBEAT_TIMEOUT_MS,
};
const NOT_RETRYABLE = ['BadConfigError', 'BadSourceError', 'ModelChangedError', 'PartConflictError'];

/**
 * Features of every image of a source with a frozen extractor, stored under embeddings/<modelHash>/ in parts. Images
 * already embedded for the same weights (by any earlier run) are skipped, so re-running after adding images embeds only
 * the new ones. Chunks run one after another on the compute queue (one device); a retried chunk rewrites its own part.
 */
export async function embedWorkflow(input: EmbedInput): Promise<EmbedResult> {
  const options = { ...DEFAULTS, ...definedOnly(input) };
  const runId = workflowInfo().workflowId;
  const compute = proxyActivities<EmbedActivities>({
    taskQueue: TASK_QUEUES.gpu,
    startToCloseTimeout: '12 hours',
    heartbeatTimeout: options.heartbeatTimeoutMs,
    retry: {
      initialInterval: '1 second',
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: NOT_RETRYABLE,
    },
  });
  const io = proxyActivities<EmbedActivities>({
    taskQueue: TASK_QUEUES.io,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: options.heartbeatTimeoutMs,
    retry: {
      initialInterval: '1 second',
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: NOT_RETRYABLE,
    },
  });

  const carried = input.carried;
  const progress: EmbedProgress = {
    phase: carried ? 'embedding' : 'loading-model',
    total: carried?.plan.total ?? 0,
    pending: carried?.plan.pending ?? 0,
    embedded: carried?.embedded ?? 0,
    skipped: carried?.skipped ?? 0,
  };
  setHandler(embedProgressQuery, () => progress);

  let state: EmbedCarried;
  if (carried) state = carried;
  else {
    const maps = input.featureMaps ? { featureMaps: true, maxMapValues: input.maxMapValues } : {};
    const model = await compute.describeEmbeddingModel({ model: input.model, input: input.input, ...maps });
    progress.phase = 'planning';
    const plan = await io.planEmbedding({ source: input.source, modelHash: model.modelHash, runId });
    state = { model, plan, offset: 0, parts: 0, embedded: 0, skipped: 0, startedAt: Date.now() };
    progress.total = plan.total;
    progress.pending = plan.pending;
    progress.phase = 'embedding';
  }

  let chunksThisRun = 0;
  while (state.offset < state.plan.pending) {
    if (chunksThisRun >= options.chunksPerRun) {
      await continueAsNew<typeof embedWorkflow>({ ...input, carried: state });
    }
    const done = await compute.embedChunk({
      source: input.source,
      model: input.model,
      input: input.input,
      modelHash: state.model.modelHash,
      runId,
      offset: state.offset,
      limit: options.chunkSize,
      part: state.plan.firstPart + state.parts,
      batchSize: options.batchSize,
      ...(state.model.mapShape ? { mapShape: state.model.mapShape } : {}),
    });
    state.offset += options.chunkSize;
    state.parts++;
    state.embedded += done.embedded;
    state.skipped += done.skipped;
    progress.embedded = state.embedded;
    progress.skipped = state.skipped;
    chunksThisRun++;
  }

  let projector: { dir: string; points: number } | undefined;
  if (options.projectorLimit > 0) {
    progress.phase = 'projector';
    projector = await compute.writeEmbeddingProjector({
      source: input.source,
      modelHash: state.model.modelHash,
      runId,
      limit: options.projectorLimit,
      thumbSize: options.thumbSize,
      model: input.model,
      input: input.input,
      pooling: options.projectorPooling,
      batchSize: options.batchSize,
    });
  }
  progress.phase = 'done';
  return {
    runId,
    source: input.source,
    modelHash: state.model.modelHash,
    dim: state.model.dim,
    ...(state.model.mapShape ? { mapShape: state.model.mapShape } : {}),
    prefix: `${embeddingsPrefix(state.model.modelHash)}/`,
    total: state.plan.total,
    alreadyDone: state.plan.alreadyDone,
    embedded: state.embedded,
    skipped: state.skipped,
    parts: state.parts,
    projectorDir: projector && projector.points > 0 ? projector.dir : undefined,
    projectorPoints: projector?.points ?? 0,
    durationMs: Date.now() - state.startedAt,
  };
}
