import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActiveLearningActivities } from '../activities/active-learning.ts';
import { TASK_QUEUES } from '../contracts/task-queues.ts';
import { activeLearningStatusQuery, labelsChangedSignal, retrainSignal, stopActiveLearningSignal, type ActiveLearningCarried, type ActiveLearningInput, type ActiveLearningResult, type ActiveLearningStatus, type RoundSummary } from '../contracts/active-learning.ts';
import { definedOnly, LONG_ACTIVITY_HEARTBEAT_TIMEOUT_MS } from './options.ts';

const DEFAULTS = {
  minNewLabels: 20,
  pollIntervalMs: 60_000,
  sort: 'diverse (badge)',
  queueSize: 100,
  seed: 1,
  roundsPerRun: 50,
  head: {},
};
/** labelStatus does not heartbeat: on the I/O queue the heartbeat timeout bounds the whole call. */
const IO_HEARTBEAT_TIMEOUT_MS = 120_000;
const NOT_RETRYABLE = ['BadConfigError', 'LabelStoreError', 'NotEnoughLabelsError'];
/** History events before the workflow continues as new while it waits (each poll adds about ten). */
const HISTORY_LIMIT = 5_000;

/**
 * One long-lived workflow per labeling project. It waits for a `retrain` signal or for `minNewLabels` new label cells
 * (the tracker signals each change; the label store is also polled, for a tracker without Temporal), then runs a round: fine-tune → predict all → rank → publish. A retrain signal may
 * name the head for this and later rounds, and ask for a fit-only round (fine-tune only). State is carried across
 * continue-as-new, and every step is an activity whose inputs are in the store, so a round survives worker restarts.
 */
export async function activeLearningWorkflow(input: ActiveLearningInput): Promise<ActiveLearningResult> {
  const options = { ...DEFAULTS, ...definedOnly(input) };
  const runId = workflowInfo().workflowId;
  const io = proxyActivities<ActiveLearningActivities>({
    taskQueue: TASK_QUEUES.io,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: input.heartbeatTimeoutMs ?? IO_HEARTBEAT_TIMEOUT_MS,
    retry: {
      initialInterval: '1 second',
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: NOT_RETRYABLE,
    },
  });
  const compute = proxyActivities<ActiveLearningActivities>({
    taskQueue: TASK_QUEUES.gpu,
    startToCloseTimeout: '6 hours',
    heartbeatTimeout: input.heartbeatTimeoutMs ?? LONG_ACTIVITY_HEARTBEAT_TIMEOUT_MS,
    retry: {
      initialInterval: '1 second',
      maximumInterval: '1 minute',
      nonRetryableErrorTypes: NOT_RETRYABLE,
    },
  });

  const state: ActiveLearningCarried = input.carried ?? {
    rounds: 0,
    labelledAtLastRound: 0,
    retrainRequested: false,
    stopRequested: false,
  };
  /** A retrain request's head replaces the input's for every later round (carried across continue-as-new). */
  const head = () => state.head ?? options.head;
  const status: ActiveLearningStatus = {
    project: input.project,
    modelHash: input.modelHash,
    minNewLabels: options.minNewLabels,
    sort: options.sort,
    head: head(),
    phase: 'waiting',
    rounds: state.rounds,
    labelled: state.labelledAtLastRound,
    last: state.last,
    lastError: state.lastError,
  };
  setHandler(activeLearningStatusQuery, () => status);
  setHandler(retrainSignal, (request) => {
    state.retrainRequested = true;
    if (request?.head) status.head = state.head = request.head;
    state.fitOnly = request?.updatePredictions === false ? true : undefined;
  });
  setHandler(stopActiveLearningSignal, () => void (state.stopRequested = true));
  setHandler(labelsChangedSignal, ({ labelled }) => void (state.signalledLabelled = labelled));
  /** A signalled count that makes a round due and that the label store has not been asked about yet. */
  const signalledDue = () =>
    state.signalledLabelled !== undefined &&
    state.signalledLabelled !== state.checkedLabelled &&
    state.signalledLabelled - state.labelledAtLastRound >= options.minNewLabels;

  let roundsThisRun = 0;
  while (!state.stopRequested) {
    status.phase = 'waiting';
    const labels = await io.labelStatus({ project: input.project });
    status.labelled = labels.labelled;
    state.checkedLabelled = state.signalledLabelled;
    const due = state.retrainRequested || labels.labelled - state.labelledAtLastRound >= options.minNewLabels;
    if (due && !labels.trainable) {
      state.lastError =
        'a round needs at least one 0 and one 1 label on images that are not excluded and not validation';
      state.retrainRequested = false;
      state.fitOnly = undefined;
    } else if (due) {
      const fitOnly = state.fitOnly === true;
      state.retrainRequested = false;
      state.fitOnly = undefined;
      try {
        state.last = await runRound(state.rounds + 1, fitOnly);
        state.rounds++;
        state.lastError = undefined;
        state.labelledAtLastRound = state.last.labelled;
      } catch (error) {
        // Bad labels or settings wait for the next change; anything else has already been retried by Temporal.
        if (!(
          error instanceof ActivityFailure &&
          error.cause instanceof ApplicationFailure &&
          error.cause.nonRetryable
        ))
          throw error;
        state.lastError = error.cause.message;
        state.labelledAtLastRound = labels.labelled;
      }
      Object.assign(status, { rounds: state.rounds, last: state.last });
      roundsThisRun++;
    }
    status.lastError = state.lastError;
    if (state.stopRequested) break;
    status.phase = 'waiting';
    if (!state.retrainRequested && !signalledDue())
      await condition(
        () => state.retrainRequested || state.stopRequested || signalledDue(),
        options.pollIntervalMs,
      );
    if (
      !state.stopRequested &&
      (roundsThisRun >= options.roundsPerRun || workflowInfo().historyLength > HISTORY_LIMIT)
    ) {
      await continueAsNew<typeof activeLearningWorkflow>({ ...input, carried: state });
    }
  }
  status.phase = 'stopped';
  return { project: input.project, rounds: state.rounds, last: state.last };

  /** `fitOnly`: fit and store the head, keep the published predictions and queue (a retrain request's choice). */
  async function runRound(round: number, fitOnly: boolean): Promise<RoundSummary> {
    const common = { runId, round, modelHash: input.modelHash };
    status.phase = 'fine-tuning';
    const tuned = await compute.fineTune({
      ...common,
      project: input.project,
      previousRound: state.rounds > 0 ? state.rounds : undefined,
      head: head(),
      seed: options.seed,
    });
    if (fitOnly) return fitOnlySummary(round, tuned);
    status.phase = 'predicting';
    const predicted = await compute.predictAll(common);
    status.phase = 'ranking';
    const queue = await compute.rankQueue({
      ...common,
      sort: options.sort,
      queueSize: options.queueSize,
      seed: options.seed,
    });
    status.phase = 'publishing';
    const summary: RoundSummary = {
      round,
      evaluatedOn: predicted.evaluatedOn,
      classes: predicted.classes,
      meanAuc: predicted.meanAuc,
      trainLoss: tuned.trainLoss,
      labelled: tuned.labelled,
      predicted: predicted.predicted,
      missingEmbeddings: tuned.missingEmbeddings,
      queueHead: queue.queueHead,
      queueSize: queue.queueSize,
      queueKey: queue.queueKey,
    };
    await io.publishRound({
      runId,
      project: input.project,
      round,
      metrics: {
        classes: summary.classes,
        meanAuc: summary.meanAuc,
        trainLoss: summary.trainLoss,
        labelled: summary.labelled,
        queueSize: summary.queueSize,
      },
    });
    return summary;
  }

  function fitOnlySummary(
    round: number,
    tuned: { labelled: number; trainLoss: number | null; missingEmbeddings: number },
  ): RoundSummary {
    const before = state.last;
    return {
      round,
      evaluatedOn: before?.evaluatedOn ?? 'train',
      classes: before?.classes ?? [],
      meanAuc: before?.meanAuc ?? null,
      predicted: before?.predicted ?? 0,
      queueHead: before?.queueHead ?? [],
      queueSize: before?.queueSize ?? 0,
      queueKey: before?.queueKey ?? '',
      trainLoss: tuned.trainLoss,
      labelled: tuned.labelled,
      missingEmbeddings: tuned.missingEmbeddings,
      predictionsUpdated: false,
    };
  }
}
