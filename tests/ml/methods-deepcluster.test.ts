// DeepCluster's dropout draws its masks from (seed, step): same seed => bit-identical training, also across a resume.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import { activeTf, initBackend } from '../../ml/backend.ts';
import { loadLatestCheckpoint, restoreOptimizer, saveCheckpoint } from '../../ml/checkpoint.ts';
import type { Batch } from '../../ml/data/index.ts';
import { DeepClusterTrainer } from '../../ml/methods/index.ts';
import { Rng } from '../../ml/rng.ts';
import { LocalStorage } from '../../storage/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'patchwork-dc-'));
before(async () => {
  await initBackend({ purpose: 'train', force: 'tensorflow' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

const KEYS = Array.from({ length: 12 }, (_, i) => `img-${i}.png`);
const LABELS = KEYS.map((_, i) => i % 3);
const STEPS = 6;
const RESUME_AT = 3;

function tinyFcn(): LayersModel {
  const tf = activeTf();
  const input = tf.input({ shape: [8, 8, 3] });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' });
  return tf.model({ inputs: input, outputs: conv.apply(input) as SymbolicTensor });
}

/** A trainer whose weights are copied from `like` (tfjs initialisers are unseeded), labels set, head initialised. */
function trainer(seed: number, like?: DeepClusterTrainer): DeepClusterTrainer {
  const t = new DeepClusterTrainer({
    config: { pca_dim: 4, k: 3, dense: [32, 16], mult: 1, kmeans_max_iter: 10, lr: 0.05, lr_decay: 0 },
    inputShape: [8, 8, 3],
    fcn: tinyFcn(),
    rng: Rng.fromSeed(11),
    seed,
  });
  t.setFileList(KEYS);
  t.state.labels = [...LABELS];
  t.resetHeadIfNeeded(0);
  if (like) t.full.setWeights(like.full.getWeights());
  return t;
}

/** The batch of a step: fixed pseudo-random pixels, so only dropout can make two runs differ. */
function batchAt(step: number): Batch {
  const rng = Rng.fromSeed(1000 + step);
  const keys = [0, 1, 2, 3].map((i) => KEYS[(step * 4 + i) % KEYS.length]);
  return { images: rng.fillUniform(new Float32Array(4 * 8 * 8 * 3)) as Float32Array, shape: [4, 8, 8, 3], keys };
}

async function trainSteps(t: DeepClusterTrainer, from: number, to: number): Promise<void> {
  for (let step = from; step < to; step++) await t.trainStep(batchAt(step), step);
}

const weightBytes = (m: LayersModel) => m.weights.map((w) => Buffer.from((w.read().dataSync() as Float32Array).slice().buffer));

test('two DeepCluster trainers with the same seed train to identical weights through dropout; a resumed one too', async () => {
  const a = trainer(5);
  const b = trainer(5, a);
  const otherSeed = trainer(6, a);
  const fresh = trainer(5, a);
  assert.deepEqual(weightBytes(b.full), weightBytes(a.full), 'same starting weights');

  await trainSteps(a, 0, STEPS);
  await trainSteps(b, 0, STEPS);
  await trainSteps(otherSeed, 0, STEPS);
  const expected = weightBytes(a.full);
  assert.deepEqual(weightBytes(b.full), expected, 'same seed: identical weights');
  assert.notDeepEqual(weightBytes(otherSeed.full), expected, 'another seed draws other dropout masks');

  // Resume: train to RESUME_AT, checkpoint, rebuild a fresh trainer from storage, train the rest.
  const store = new LocalStorage(join(dir, 'ckpt'));
  await trainSteps(fresh, 0, RESUME_AT);
  const parts = fresh.parts();
  await saveCheckpoint(store, 'dc', { step: RESUME_AT, epoch: 0, models: parts.models, optimizers: parts.optimizers, rng: fresh.rng.state(), state: fresh.methodState() as never });
  const saved = (await loadLatestCheckpoint(store, 'dc'))!;
  const resumed = trainer(5);
  resumed.full.setWeights(saved.models.model!.getWeights());
  await restoreOptimizer(resumed.parts().optimizers.sgd, saved.optimizers.sgd!);
  resumed.loadMethodState(saved.state as Record<string, unknown>);
  await trainSteps(resumed, RESUME_AT, STEPS);
  assert.deepEqual(weightBytes(resumed.full), expected, 'resumed at step 3: identical weights at step 6');
  for (const t of [a, b, otherSeed, fresh, resumed]) t.dispose();
});
