import { condition, continueAsNew, executeChild, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { PretrainActivities } from '../activities/pretrain.ts';
import { embedWorkflow } from './embed.ts';
import { TASK_QUEUES } from '../contracts/task-queues.ts';
import { DEFAULT_SECONDS_PER_ACTIVITY, pauseSignal, pretrainProgressQuery, resumeSignal, setLearningRateSignal, stopSignal, type PretrainCarried, type PretrainInput, type PretrainProgress, type PretrainResult } from '../contracts/pretrain.ts';
import { definedOnly, LONG_ACTIVITY_HEARTBEAT_TIMEOUT_MS } from './options.ts';

const DEFAULTS = { activitiesPerRun: 100, heartbeatTimeoutMs: LONG_ACTIVITY_HEARTBEAT_TIMEOUT_MS, seed: 1 };

/** The k-means refit computes for long stretches without yielding to the heartbeat timer. */
const REFIT_HEARTBEAT_TIMEOUT_MS = 60_000;
const NOT_RETRYABLE = ['BadConfigError', 'BadSourceError'];

/**
 * Self-supervised pretraining as a chain of checkpointed training activities. Each activity trains a chunk of
 * steps on the compute queue and ends with a checkpoint; a retried activity resumes from the last checkpoint.
 * DeepCluster refits, downstream evaluations and test-set losses are activities of their own. Signals take effect
 * between activities, i.e. at a checkpoint: pause, resume, stop (then export) and a new learning rate. After the
 * export, a child embedWorkflow embeds the training images with the model (unless `embed: false`).
 */
export async function pretrainWorkflow(input: PretrainInput): Promise<PretrainResult> {
  const options = { ...DEFAULTS, ...definedOnly(input) };
  const runId = workflowInfo().workflowId;
  const io = proxyActivities<PretrainActivities>({
    taskQueue: TASK_QUEUES.io,
    startToCloseTimeout: '30 minutes',
    retry: { maximumInterval: '1 minute', nonRetryableErrorTypes: NOT_RETRYABLE },
  });
  const computeWithHeartbeatTimeout = (heartbeatTimeoutMs: number) =>
    proxyActivities<PretrainActivities>({
      taskQueue: TASK_QUEUES.gpu,
      startToCloseTimeout: '24 hours',
      heartbeatTimeout: heartbeatTimeoutMs,
      retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: NOT_RETRYABLE },
    });
  const compute = computeWithHeartbeatTimeout(options.heartbeatTimeoutMs);
  const refitting = computeWithHeartbeatTimeout(input.heartbeatTimeoutMs ?? REFIT_HEARTBEAT_TIMEOUT_MS);

  const state: PretrainCarried =
    input.carried ??
    ({
      step: 0,
      epoch: 0,
      paused: false,
      stopRequested: false,
      lastMetrics: {},
      startedAt: Date.now(),
      refittedEpoch: -1,
      evaluatedEpoch: -1,
    } as PretrainCarried);
  const progress: PretrainProgress = {
    phase: state.plan ? 'training' : 'preparing',
    epoch: state.epoch,
    epochs: input.epochs,
    step: state.step,
    totalSteps: state.plan?.totalSteps ?? 0,
    losses: state.lastMetrics,
    learningRate: state.lr,
  };
  setHandler(pretrainProgressQuery, () => progress);
  setHandler(pauseSignal, () => void (state.paused = true));
  setHandler(resumeSignal, () => void (state.paused = false));
  setHandler(stopSignal, () => void (state.stopRequested = true));
  setHandler(setLearningRateSignal, (lr: number) => {
    if (Number.isFinite(lr) && lr > 0) state.lr = lr;
  });

  if (!state.plan) {
    state.plan = await io.preparePretrain({
      runId,
      method: input.method,
      images: input.images,
      config: input.config ?? {},
      labels: input.labels,
      testImages: input.testImages,
      initialModel: input.initialModel,
      epochs: input.epochs,
      seed: options.seed,
    });
    progress.totalSteps = state.plan.totalSteps;
  }
  const plan = state.plan;

  let activitiesThisRun = 0;
  let pace: { step: number; at: number } | undefined;
  // Signals are applied only here, between activities, where the last checkpoint is the current state.
  const atCheckpoint = async (): Promise<boolean> => {
    if (state.paused && !state.stopRequested) {
      progress.phase = 'paused';
      await condition(() => !state.paused || state.stopRequested);
    }
    return !state.stopRequested;
  };

  while (state.step < plan.totalSteps && (await atCheckpoint())) {
    const epoch = Math.floor(state.step / plan.stepsPerEpoch);
    state.epoch = epoch;
    progress.epoch = epoch;
    if (plan.refitEvery > 0 && epoch % plan.refitEvery === 0 && state.refittedEpoch < epoch) {
      progress.phase = 'refitting';
      const refit = await refitting.refitClusters({ runId, epoch, step: state.step });
      Object.assign(state.lastMetrics, refit);
      state.refittedEpoch = epoch;
      if (!(await atCheckpoint())) break;
    }

    progress.phase = 'training';
    const epochEnd = (epoch + 1) * plan.stepsPerEpoch;
    const toStep = options.stepsPerActivity === undefined ? epochEnd : Math.min(state.step + options.stepsPerActivity, epochEnd);
    const trained = await compute.trainSteps({
      runId,
      fromStep: state.step,
      toStep,
      checkpointEvery: options.checkpointEvery,
      maxSeconds: options.secondsPerActivity ?? (options.stepsPerActivity === undefined ? DEFAULT_SECONDS_PER_ACTIVITY : undefined),
      learningRate: state.lr,
    });
    state.step = trained.step;
    state.lastMetrics = { ...state.lastMetrics, ...trained.metrics };
    progress.step = state.step;
    progress.losses = state.lastMetrics;
    progress.learningRate = trained.metrics.learning_rate ?? state.lr;
    const now = Date.now();
    if (pace && state.step > pace.step) {
      progress.etaSeconds = Math.round(((now - pace.at) / (state.step - pace.step) / 1000) * (plan.totalSteps - state.step));
    }
    pace = { step: state.step, at: now };

    if (plan.hasLabels && state.step === epochEnd && state.evaluatedEpoch < epoch) {
      progress.phase = 'evaluating';
      Object.assign(state.lastMetrics, await compute.evaluateDownstream({ runId, epoch, step: state.step }));
      state.evaluatedEpoch = epoch;
    }

    if ((plan.testFiles ?? 0) > 0 && state.step === epochEnd && (state.testedEpoch ?? -1) < epoch) {
      progress.phase = 'evaluating';
      Object.assign(state.lastMetrics, await compute.evaluateTestSet({ runId, epoch, step: state.step }));
      state.testedEpoch = epoch;
    }

    activitiesThisRun++;
    if (activitiesThisRun >= options.activitiesPerRun && state.step < plan.totalSteps && !state.stopRequested) {
      await continueAsNew<typeof pretrainWorkflow>({ ...input, carried: state });
    }
  }

  progress.phase = 'exporting';
  const modelKey = await compute.exportModel({ runId, step: state.step, stopped: state.stopRequested });
  let embeddings: PretrainResult['embeddings'];
  if (input.embed !== false) {
    progress.phase = 'embedding';
    const workflowId = `${runId}-embed`;
    const embedded = await executeChild(embedWorkflow, { workflowId, args: [{ source: input.images, model: { run: runId } }] });
    embeddings = { workflowId, modelHash: embedded.modelHash, prefix: embedded.prefix, total: embedded.total, embedded: embedded.embedded };
  }
  progress.phase = state.stopRequested ? 'stopped' : 'done';
  return {
    runId,
    steps: state.step,
    epochs: Math.ceil(state.step / plan.stepsPerEpoch),
    stopped: state.stopRequested,
    modelKey,
    lastMetrics: state.lastMetrics,
    ...(embeddings ? { embeddings } : {}),
  };
}

