// activeLearningWorkflow's orchestration on a real Temporal server with stub activities: rounds started by retrain and
// labelsChanged, the status query, stop, continue-as-new, bad labels, and the heartbeat timeouts it asks for.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import type { ActiveLearningActivities } from '../../activities/active-learning.ts';
import { TASK_QUEUES } from '../../contracts/task-queues.ts';
import {
  activeLearningStatusQuery,
  labelsChangedSignal,
  retrainSignal,
  stopActiveLearningSignal,
  type ActiveLearningInput,
  type ActiveLearningStatus,
} from '../../contracts/active-learning.ts';
import { activeLearningWorkflow } from '../../workflows/index.ts';
import { pollUntil } from '../helpers/tensorboard.ts';
import { continuedAsNew, scheduledActivities, startWorkflowEnv, type WorkflowEnv } from '../helpers/workflow-env.ts';

const ACTIVE_LEARNING_ACTIVITIES = {
  labelStatus: true,
  fineTune: true,
  predictAll: true,
  rankQueue: true,
  publishRound: true,
} satisfies Record<keyof ActiveLearningActivities, true>;

/** Stubs over a label store whose count of set label cells the test changes with `labels.labelled`. */
function roundStubs(env: WorkflowEnv, labels = { labelled: 0, trainable: true }) {
  const stubs = env.stub<ActiveLearningActivities>({
    labelStatus: async () => ({ images: 100, ...labels }),
    fineTune: async () => ({ labelled: labels.labelled, trainLoss: null, missingEmbeddings: 0 }),
    predictAll: async () => ({ predicted: 100, evaluatedOn: 'train', classes: [], meanAuc: 0.75 }),
    rankQueue: async ({ runId, round }) => ({ queueKey: `runs/${runId}/rounds/${round}/queue.json`, queueSize: 2, queueHead: ['a.png', 'b.png'] }),
    publishRound: async () => {},
  });
  return { stubs, labels };
}

/** Polls only once an hour, so every round in these tests is started by a signal. */
const input = (project: string, extra: Partial<ActiveLearningInput> = {}): ActiveLearningInput => ({
  project,
  modelHash: 'hash',
  minNewLabels: 20,
  pollIntervalMs: 3_600_000,
  queueSize: 2,
  sort: 'max entropy',
  ...extra,
});

const start = (env: WorkflowEnv, project: string, args: ActiveLearningInput) =>
  env.client.workflow.start(activeLearningWorkflow, { taskQueue: TASK_QUEUES.io, workflowId: `label-${project}`, args: [args] });

type Handle = Awaited<ReturnType<typeof start>>;
const statusWhen = (handle: Handle, what: string, accept: (status: ActiveLearningStatus) => boolean) =>
  pollUntil(what, async () => {
    const status = await handle.query(activeLearningStatusQuery);
    return accept(status) ? status : undefined;
  });

describe('activeLearningWorkflow with stub activities', () => {
  let env: WorkflowEnv;
  before(async () => {
    env = await startWorkflowEnv(Object.keys(ACTIVE_LEARNING_ACTIVITIES));
  });
  after(async () => {
    await env?.stop();
  });

  test('retrain starts a round at once; the status query reports it; stop ends the loop', async () => {
    const { stubs, labels } = roundStubs(env, { labelled: 3, trainable: true });
    const handle = await start(env, 'retrain', input('retrain', { head: { kind: 'linear' }, seed: 7 }));
    await stubs.called('labelStatus', 1);
    const waiting = await statusWhen(handle, 'the first label check', (s) => s.labelled === 3);
    assert.deepEqual(
      { phase: waiting.phase, rounds: waiting.rounds, project: waiting.project, modelHash: waiting.modelHash, minNewLabels: waiting.minNewLabels, sort: waiting.sort },
      { phase: 'waiting', rounds: 0, project: 'retrain', modelHash: 'hash', minNewLabels: 20, sort: 'max entropy' },
    );

    labels.labelled = 4;
    await handle.signal(retrainSignal);
    const afterRound = await statusWhen(handle, 'round 1', (s) => s.rounds === 1);
    assert.equal(afterRound.phase, 'waiting');
    assert.deepEqual(afterRound.last, {
      round: 1,
      evaluatedOn: 'train',
      classes: [],
      meanAuc: 0.75,
      trainLoss: null,
      labelled: 4,
      predicted: 100,
      missingEmbeddings: 0,
      queueHead: ['a.png', 'b.png'],
      queueSize: 2,
      queueKey: 'runs/label-retrain/rounds/1/queue.json',
    });
    const common = { runId: 'label-retrain', round: 1, modelHash: 'hash' };
    assert.deepEqual(stubs.inputsOf('fineTune'), [{ ...common, project: 'retrain', head: { kind: 'linear' }, seed: 7 }]);
    assert.deepEqual(stubs.inputsOf('predictAll'), [common]);
    assert.deepEqual(stubs.inputsOf('rankQueue'), [{ ...common, sort: 'max entropy', queueSize: 2, seed: 7 }]);
    assert.equal(stubs.inputsOf('publishRound')[0]?.metrics.meanAuc, 0.75);

    await handle.signal(stopActiveLearningSignal);
    const result = await handle.result();
    assert.equal(result.rounds, 1);
    assert.equal((await handle.query(activeLearningStatusQuery)).phase, 'stopped');
    assert.deepEqual(stubs.names().filter((name) => name !== 'labelStatus'), ['fineTune', 'predictAll', 'rankQueue', 'publishRound']);
  });

  test('labelsChanged starts a round once the signalled count makes one due, after checking the label store', async () => {
    const { stubs, labels } = roundStubs(env, { labelled: 1, trainable: true });
    const handle = await start(env, 'signalled', input('signalled'));
    await statusWhen(handle, 'the first label check', (s) => s.labelled === 1);

    labels.labelled = 5;
    await handle.signal(labelsChangedSignal, { labelled: 5 });
    await handle.query(activeLearningStatusQuery);
    labels.labelled = 25;
    await handle.signal(labelsChangedSignal, { labelled: 25 });
    const afterRound = await statusWhen(handle, 'round 1', (s) => s.rounds === 1);
    assert.equal(afterRound.labelled, 25);
    assert.equal(afterRound.last?.labelled, 25);
    assert.equal(stubs.inputsOf('labelStatus').length, 2, 'a count short of minNewLabels does not wake the loop');

    // A signalled count the label store does not confirm is checked once, then the loop waits again.
    labels.labelled = 30;
    await handle.signal(labelsChangedSignal, { labelled: 45 });
    await statusWhen(handle, 'the third label check', (s) => s.labelled === 30);
    assert.equal(stubs.inputsOf('labelStatus').length, 3);
    await handle.signal(retrainSignal);
    await statusWhen(handle, 'round 2', (s) => s.rounds === 2);
    assert.equal(stubs.inputsOf('labelStatus').length, 4);
    assert.deepEqual(stubs.inputsOf('fineTune').map(({ round, previousRound }) => [round, previousRound]), [[1, undefined], [2, 1]]);

    await handle.signal(stopActiveLearningSignal);
    assert.equal((await handle.result()).rounds, 2);
  });

  test('stop during a round lets the round finish, then ends the loop', async () => {
    const { stubs } = roundStubs(env, { labelled: 30, trainable: true });
    const openFineTune = stubs.hold('fineTune');
    const handle = await start(env, 'stop-in-round', input('stop-in-round'));
    await stubs.called('fineTune', 1);
    await handle.signal(stopActiveLearningSignal);
    openFineTune();

    const result = await handle.result();
    assert.equal(result.rounds, 1);
    assert.equal(result.last?.round, 1);
    assert.deepEqual(stubs.names(), ['labelStatus', 'fineTune', 'predictAll', 'rankQueue', 'publishRound']);
  });

  test('continues as new after roundsPerRun rounds, carrying the rounds and a pending retrain', async () => {
    const { stubs, labels } = roundStubs(env, { labelled: 2, trainable: true });
    const handle = await start(env, 'continue', input('continue', { roundsPerRun: 1 }));
    await stubs.called('labelStatus', 1);
    await handle.signal(retrainSignal);
    await stubs.called('publishRound', 1);
    await statusWhen(handle, 'round 1', (s) => s.rounds === 1);

    labels.labelled = 3;
    await handle.signal(retrainSignal);
    const status = await statusWhen(handle, 'round 2 in the next run', (s) => s.rounds === 2);
    assert.equal(status.last?.round, 2);
    assert.equal(await continuedAsNew(env.client.workflow.getHandle('label-continue', handle.firstExecutionRunId)), true);
    assert.deepEqual(stubs.inputsOf('fineTune').map(({ round, previousRound }) => [round, previousRound]), [[1, undefined], [2, 1]]);

    await env.client.workflow.getHandle('label-continue').signal(stopActiveLearningSignal);
    assert.equal((await env.client.workflow.getHandle('label-continue').result()).rounds, 2);
  });

  test('a retrain request names the head for later rounds too, across continue-as-new; updatePredictions false fits only', async () => {
    const { stubs } = roundStubs(env, { labelled: 4, trainable: true });
    const handle = await start(env, 'requested', input('requested', { head: { kind: 'logistic' }, roundsPerRun: 1 }));
    await statusWhen(handle, 'the first label check', (s) => s.labelled === 4);
    assert.deepEqual((await handle.query(activeLearningStatusQuery)).head, { kind: 'logistic' });

    const chosen = { kind: 'mlp' as const, hidden: 8, epochs: 2, batchSize: 4, samplesPerEpoch: 16 };
    await handle.signal(retrainSignal, { head: chosen, updatePredictions: false });
    const fitted = await statusWhen(handle, 'the fit-only round', (s) => s.rounds === 1);
    assert.deepEqual(fitted.head, chosen);
    assert.equal(fitted.last?.predictionsUpdated, false);
    assert.deepEqual([fitted.last?.predicted, fitted.last?.queueSize, fitted.last?.meanAuc], [0, 0, null]);
    assert.deepEqual(stubs.names().filter((name) => name !== 'labelStatus'), ['fineTune']);

    await handle.signal(retrainSignal);
    const predicted = await statusWhen(handle, 'round 2 in the next run', (s) => s.rounds === 2);
    assert.equal(await continuedAsNew(env.client.workflow.getHandle('label-requested', handle.firstExecutionRunId)), true);
    assert.equal(predicted.last?.predictionsUpdated, undefined);
    assert.equal(predicted.last?.meanAuc, 0.75);
    assert.deepEqual(predicted.head, chosen, 'the requested head is carried into the next run');
    assert.deepEqual(stubs.inputsOf('fineTune').map(({ round, head }) => [round, head]), [[1, chosen], [2, chosen]]);
    assert.deepEqual(stubs.names().filter((name) => name !== 'labelStatus'), ['fineTune', 'fineTune', 'predictAll', 'rankQueue', 'publishRound']);

    await env.client.workflow.getHandle('label-requested').signal(stopActiveLearningSignal);
    assert.equal((await env.client.workflow.getHandle('label-requested').result()).rounds, 2);
  });

  test('labels that cannot train, or that a round rejects, are reported and the loop waits for the next change', async () => {
    const { stubs } = roundStubs(env, { labelled: 30, trainable: false });
    const handle = await start(env, 'bad-labels', input('bad-labels'));
    const untrainable = await statusWhen(handle, 'the untrainable labels to be reported', (s) => s.lastError !== undefined);
    assert.match(untrainable.lastError!, /at least one 0 and one 1 label/);
    assert.equal(stubs.inputsOf('fineTune').length, 0);

    const rejecting = env.stub<ActiveLearningActivities>({
      labelStatus: async () => ({ images: 100, labelled: 30, trainable: true }),
      fineTune: async () => {
        throw ApplicationFailure.create({ type: 'NotEnoughLabelsError', message: 'fine-tuning needs more labels', nonRetryable: true });
      },
    });
    await handle.signal(retrainSignal);
    const rejected = await statusWhen(handle, 'the rejected round to be reported', (s) => s.lastError === 'fine-tuning needs more labels');
    assert.equal(rejected.rounds, 0);
    assert.equal(rejecting.inputsOf('fineTune').length, 1);

    await handle.signal(stopActiveLearningSignal);
    assert.equal((await handle.result()).rounds, 0);
  });

  test('round activities time out 15 s after their last heartbeat; the label check after 120 s', async () => {
    const { stubs } = roundStubs(env, { labelled: 30, trainable: true });
    const handle = await start(env, 'heartbeats', input('heartbeats'));
    await stubs.called('publishRound', 1);
    await handle.signal(stopActiveLearningSignal);
    await handle.result();
    const timeouts = Object.fromEntries((await scheduledActivities(handle)).map(({ name, heartbeatTimeoutMs }) => [name, heartbeatTimeoutMs]));
    assert.deepEqual(timeouts, { labelStatus: 120_000, fineTune: 15_000, predictAll: 15_000, rankQueue: 15_000, publishRound: 120_000 });
  });
});
