// pretrainWorkflow's default chunking with stub activities: without stepsPerActivity a training activity may train to
// its epoch's end but stops after DEFAULT_SECONDS_PER_ACTIVITY, and the next one starts where it stopped.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PretrainActivities } from '../../activities/pretrain.ts';
import { TASK_QUEUES } from '../../contracts/task-queues.ts';
import { DEFAULT_SECONDS_PER_ACTIVITY, type PretrainInput, type PretrainPlan } from '../../contracts/pretrain.ts';
import { pretrainWorkflow } from '../../workflows/index.ts';
import { startWorkflowEnv, type WorkflowEnv } from '../helpers/workflow-env.ts';

const PLAN: PretrainPlan = { files: 20, stepsPerEpoch: 10, totalSteps: 20, refitEvery: 0, hasLabels: false, testFiles: 0 };
const ACTIVITIES = ['preparePretrain', 'refitClusters', 'trainSteps', 'evaluateDownstream', 'evaluateTestSet', 'exportModel'];

describe('pretrainWorkflow chunks by time unless given steps per activity', () => {
  let env: WorkflowEnv;
  before(async () => {
    env = await startWorkflowEnv(ACTIVITIES);
  });
  after(async () => {
    await env?.stop();
  });

  const run = async (workflowId: string, extra: Partial<PretrainInput>) => {
    // Each stub activity "runs out of time" after 4 steps.
    const stubs = env.stub<PretrainActivities>({
      preparePretrain: async () => PLAN,
      trainSteps: async ({ fromStep, toStep }) => ({ step: Math.min(fromStep + 4, toStep), metrics: {} }),
      exportModel: async ({ runId }) => `runs/${runId}/model/model.json`,
    });
    const args: PretrainInput = { method: 'iic', images: '/images', epochs: 2, embed: false, ...extra };
    const result = await env.client.workflow.execute(pretrainWorkflow, { taskQueue: TASK_QUEUES.io, workflowId, args: [args] });
    return { result, chunks: stubs.inputsOf('trainSteps') };
  };

  test('default: each activity may go to its epoch\'s end, for DEFAULT_SECONDS_PER_ACTIVITY; the next starts where it stopped', async () => {
    const { result, chunks } = await run('timed-chunks', {});
    assert.equal(result.steps, 20);
    assert.deepEqual(
      chunks.map(({ fromStep, toStep }) => [fromStep, toStep]),
      [[0, 10], [4, 10], [8, 10], [10, 20], [14, 20], [18, 20]],
    );
    assert.ok(chunks.every((c) => c.maxSeconds === DEFAULT_SECONDS_PER_ACTIVITY && c.checkpointEvery === undefined));
  });

  test('stepsPerActivity gives fixed chunks without a time limit unless secondsPerActivity is given too', async () => {
    const fixed = await run('step-chunks', { stepsPerActivity: 3, checkpointEvery: 2 });
    assert.deepEqual(
      fixed.chunks.map(({ fromStep, toStep }) => [fromStep, toStep]),
      [[0, 3], [3, 6], [6, 9], [9, 10], [10, 13], [13, 16], [16, 19], [19, 20]],
    );
    assert.ok(fixed.chunks.every((c) => c.maxSeconds === undefined && c.checkpointEvery === 2));
    const both = await run('step-and-time-chunks', { stepsPerActivity: 3, secondsPerActivity: 5 });
    assert.ok(both.chunks.every((c) => c.maxSeconds === 5));
  });
});
