import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { connectClient } from '../worker/client.ts';
import { pretrainWorkflow } from '../workflows/index.ts';
import { TASK_QUEUES, type PretrainInput } from '../workflows/api.ts';
import { writeFiles } from './helpers/images.ts';
import { eventAccumulatorScalars, patternImages } from './helpers/pretrain.ts';
import { startStack, type TestStack } from './helpers/stack.ts';

const SMALL_DEEPCLUSTER = {
  input: { imshape: [64, 64], batch_size: 8 },
  augment: { left_right_flip: true, max_brightness_delta: 0.1 },
  k: 4,
  pca_dim: 8,
  dense: [32],
  lr: 0.01,
};

describe('pretrainWorkflow on real Temporal', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startStack({ temporal: true });
    await writeFiles(join(stack.home, 'images'), await patternImages(24));
    await stack.startWorker();
  });
  after(async () => stack?.stop());

  async function run(id: string, input: Partial<PretrainInput>) {
    const client = await connectClient(stack.settings);
    return client.workflow.execute(pretrainWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: id,
      args: [{ method: 'deepcluster', images: join(stack.home, 'images'), epochs: 2, stepsPerActivity: 2, checkpointEvery: 2, config: SMALL_DEEPCLUSTER, ...input } as PretrainInput],
    });
  }

  test('DeepCluster: two short epochs, finite losses logged once per step, TensorBoard reads them', async () => {
    const result = await run('pretrain-dc', {});
    assert.equal(result.steps, 2 * Math.ceil(24 / 8));
    assert.equal(result.stopped, false);
    assert.ok(existsSync(join(stack.settings.store, result.modelKey)), 'the feature extractor was exported');
    const scalars = await eventAccumulatorScalars(join(stack.home, 'tensorboard', 'pretrain-dc'));
    const loss = scalars['train/loss'];
    assert.deepEqual(loss.map(([step]) => step), [0, 1, 2, 3, 4, 5], 'one loss per step');
    assert.ok(loss.every(([, v]) => Number.isFinite(v)), `finite losses: ${loss}`);
    assert.ok(scalars['deepcluster/kmeans_inertia'], 'refit metrics logged');
    assert.ok(scalars['deepcluster/nmi_with_previous'], 'NMI between successive assignments logged from the 2nd refit');
  });

  test('a bad config fails at once, naming the field', async () => {
    await assert.rejects(run('pretrain-bad', { config: { k: 1 } }), (error: Error) => {
      const message = String((error as { cause?: { cause?: Error } }).cause?.cause?.message);
      assert.match(message, /deepcluster\.k/);
      return true;
    });
  });
});
