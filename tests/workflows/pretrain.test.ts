// pretrainWorkflow's orchestration on a real Temporal server with stub activities: chunking, refits and evaluations,
// continue-as-new, the pause/resume/stop/setLearningRate signals, and the heartbeat timeouts it asks for.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PretrainActivities } from '../../activities/pretrain.ts';
import type { EmbedActivities } from '../../activities/embed.ts';
import { TASK_QUEUES } from '../../contracts/task-queues.ts';
import {
  pauseSignal,
  pretrainProgressQuery,
  resumeSignal,
  setLearningRateSignal,
  stopSignal,
  type PretrainInput,
  type PretrainPlan,
} from '../../contracts/pretrain.ts';
import { embedWorkflow, pretrainWorkflow } from '../../workflows/index.ts';
import { pollUntil } from '../helpers/tensorboard.ts';
import { continuedAsNew, scheduledActivities, startWorkflowEnv, type WorkflowEnv } from '../helpers/workflow-env.ts';

const PRETRAIN_ACTIVITIES = {
  preparePretrain: true,
  refitClusters: true,
  trainSteps: true,
  evaluateDownstream: true,
  evaluateTestSet: true,
  exportModel: true,
} satisfies Record<keyof PretrainActivities, true>;
const EMBED_ACTIVITIES = {
  describeEmbeddingModel: true,
  planEmbedding: true,
  embedChunk: true,
  writeEmbeddingProjector: true,
} satisfies Record<keyof EmbedActivities, true>;

/** Two epochs of four steps, no refits, no labels, no test images. */
const PLAN: PretrainPlan = { files: 8, stepsPerEpoch: 4, totalSteps: 8, refitEvery: 0, hasLabels: false, testFiles: 0 };
const DEEPCLUSTER_PLAN: PretrainPlan = { ...PLAN, refitEvery: 1, hasLabels: true, testFiles: 2 };

function pretrainStubs(env: WorkflowEnv, plan: PretrainPlan = PLAN) {
  return env.stub<PretrainActivities & EmbedActivities>({
    preparePretrain: async () => plan,
    refitClusters: async () => ({ kmeans_inertia: 1 }),
    trainSteps: async ({ toStep }) => ({ step: toStep, metrics: { loss: 1 / toStep } }),
    evaluateDownstream: async () => ({ downstream_accuracy: 0.5 }),
    evaluateTestSet: async () => ({ test_loss: 2 }),
    exportModel: async ({ runId }) => `runs/${runId}/model/model.json`,
    describeEmbeddingModel: async () => ({ modelHash: 'hash', dim: 4 }),
    planEmbedding: async () => ({ total: 8, alreadyDone: 0, pending: 8, firstPart: 0 }),
    embedChunk: async ({ offset, limit }) => ({ embedded: Math.min(limit, 8 - offset), skipped: 0 }),
    writeEmbeddingProjector: async ({ runId }) => ({ dir: `runs/${runId}/projector`, points: 8 }),
  });
}

const input = (extra: Partial<PretrainInput> = {}): PretrainInput => ({
  method: 'deepcluster',
  images: '/images',
  epochs: 2,
  stepsPerActivity: 2,
  embed: false,
  ...extra,
});

const start = (env: WorkflowEnv, workflowId: string, args: PretrainInput) =>
  env.client.workflow.start(pretrainWorkflow, { taskQueue: TASK_QUEUES.io, workflowId, args: [args] });

describe('pretrainWorkflow with stub activities', () => {
  let env: WorkflowEnv;
  before(async () => {
    env = await startWorkflowEnv(Object.keys({ ...PRETRAIN_ACTIVITIES, ...EMBED_ACTIVITIES }));
  });
  after(async () => {
    await env?.stop();
  });

  test('refits before each epoch, evaluates after it, and continues as new without repeating work', async () => {
    const stubs = pretrainStubs(env, DEEPCLUSTER_PLAN);
    const handle = await start(env, 'chunks', input({ activitiesPerRun: 3 }));
    const result = await handle.result();

    assert.deepEqual(stubs.names(), [
      'preparePretrain',
      'refitClusters',
      'trainSteps',
      'trainSteps',
      'evaluateDownstream',
      'evaluateTestSet',
      'refitClusters',
      'trainSteps',
      // a new run from here on, with the plan and the refitted epoch carried
      'trainSteps',
      'evaluateDownstream',
      'evaluateTestSet',
      'exportModel',
    ]);
    assert.deepEqual(
      stubs.inputsOf('trainSteps').map(({ fromStep, toStep }) => [fromStep, toStep]),
      [[0, 2], [2, 4], [4, 6], [6, 8]],
    );
    assert.deepEqual(stubs.inputsOf('refitClusters').map(({ epoch, step }) => [epoch, step]), [[0, 0], [1, 4]]);
    assert.deepEqual(stubs.inputsOf('evaluateDownstream').map(({ epoch, step }) => [epoch, step]), [[0, 4], [1, 8]]);
    assert.ok(stubs.calls.every(({ input }) => (input as { runId?: string }).runId === 'chunks'));
    assert.deepEqual(stubs.inputsOf('exportModel'), [{ runId: 'chunks', step: 8, stopped: false }]);
    assert.equal(await continuedAsNew(env.client.workflow.getHandle('chunks', handle.firstExecutionRunId)), true);
    assert.deepEqual(
      { steps: result.steps, epochs: result.epochs, stopped: result.stopped, modelKey: result.modelKey },
      { steps: 8, epochs: 2, stopped: false, modelKey: 'runs/chunks/model/model.json' },
    );
    assert.deepEqual(result.lastMetrics, { kmeans_inertia: 1, loss: 1 / 8, downstream_accuracy: 0.5, test_loss: 2 });
  });

  test('pause takes effect at the next checkpoint and resume trains on from there', async () => {
    const stubs = pretrainStubs(env);
    const openFirstChunk = stubs.hold('trainSteps');
    const handle = await start(env, 'pause', input());
    await stubs.called('trainSteps', 1);
    await handle.signal(pauseSignal);
    openFirstChunk();

    const paused = await pollUntil('the run to pause', async () => {
      const progress = await handle.query(pretrainProgressQuery);
      return progress.phase === 'paused' ? progress : undefined;
    });
    assert.equal(paused.step, 2);
    assert.equal(stubs.inputsOf('trainSteps').length, 1);

    await handle.signal(resumeSignal);
    const result = await handle.result();
    assert.equal(result.steps, 8);
    assert.equal(result.stopped, false);
    assert.deepEqual(stubs.inputsOf('trainSteps').map(({ fromStep }) => fromStep), [0, 2, 4, 6]);
  });

  test('stop ends training at the next checkpoint and exports the model as stopped', async () => {
    const stubs = pretrainStubs(env);
    const openFirstChunk = stubs.hold('trainSteps');
    const handle = await start(env, 'stop', input());
    await stubs.called('trainSteps', 1);
    await handle.signal(stopSignal);
    openFirstChunk();

    const result = await handle.result();
    assert.equal(result.stopped, true);
    assert.equal(result.steps, 2);
    assert.equal(stubs.inputsOf('trainSteps').length, 1);
    assert.deepEqual(stubs.inputsOf('exportModel'), [{ runId: 'stop', step: 2, stopped: true }]);
    assert.equal((await handle.query(pretrainProgressQuery)).phase, 'stopped');
  });

  test('stop while paused exports without training further', async () => {
    const stubs = pretrainStubs(env);
    const openFirstChunk = stubs.hold('trainSteps');
    const handle = await start(env, 'stop-paused', input());
    await stubs.called('trainSteps', 1);
    await handle.signal(pauseSignal);
    openFirstChunk();
    await pollUntil('the run to pause', async () => ((await handle.query(pretrainProgressQuery)).phase === 'paused' ? true : undefined));

    await handle.signal(stopSignal);
    const result = await handle.result();
    assert.deepEqual([result.stopped, result.steps], [true, 2]);
    assert.equal(stubs.inputsOf('trainSteps').length, 1);
  });

  test('a new learning rate reaches the next training activity and stays across continue-as-new', async () => {
    const stubs = pretrainStubs(env);
    const openFirstChunk = stubs.hold('trainSteps');
    const handle = await start(env, 'set-lr', input({ activitiesPerRun: 2 }));
    await stubs.called('trainSteps', 1);
    await handle.signal(setLearningRateSignal, 0.01);
    await handle.signal(setLearningRateSignal, -1);
    await handle.signal(setLearningRateSignal, Number.NaN);
    openFirstChunk();

    await handle.result();
    assert.deepEqual(stubs.inputsOf('trainSteps').map(({ learningRate }) => learningRate), [undefined, 0.01, 0.01, 0.01]);
    assert.equal(await continuedAsNew(env.client.workflow.getHandle('set-lr', handle.firstExecutionRunId)), true);
    assert.equal((await handle.query(pretrainProgressQuery)).learningRate, 0.01);
  });

  test('compute activities time out 15 s after their last heartbeat; the k-means refit after 60 s', async () => {
    pretrainStubs(env, DEEPCLUSTER_PLAN);
    const handle = await start(env, 'heartbeats', input({ epochs: 1, stepsPerActivity: 4, embed: true }));
    const result = await handle.result();
    assert.equal(result.embeddings?.embedded, 8);

    const timeouts = (scheduled: { name: string; heartbeatTimeoutMs: number | undefined }[]) =>
      Object.fromEntries(scheduled.map(({ name, heartbeatTimeoutMs }) => [name, heartbeatTimeoutMs ?? 0]));
    assert.deepEqual(timeouts(await scheduledActivities(handle)), {
      preparePretrain: 0,
      refitClusters: 60_000,
      trainSteps: 15_000,
      evaluateDownstream: 15_000,
      evaluateTestSet: 15_000,
      exportModel: 15_000,
    });
    const embedding = env.client.workflow.getHandle<typeof embedWorkflow>(result.embeddings!.workflowId);
    assert.deepEqual(timeouts(await scheduledActivities(embedding)), {
      describeEmbeddingModel: 15_000,
      planEmbedding: 15_000,
      embedChunk: 15_000,
      writeEmbeddingProjector: 15_000,
    });
  });

  test('a heartbeat timeout given in the input applies to every compute activity', async () => {
    pretrainStubs(env, DEEPCLUSTER_PLAN);
    const handle = await start(env, 'heartbeat-input', input({ epochs: 1, stepsPerActivity: 4, heartbeatTimeoutMs: 3_000 }));
    await handle.result();
    const compute = (await scheduledActivities(handle)).filter(({ name }) => name !== 'preparePretrain');
    assert.deepEqual([...new Set(compute.map(({ heartbeatTimeoutMs }) => heartbeatTimeoutMs))], [3_000]);
  });
});
