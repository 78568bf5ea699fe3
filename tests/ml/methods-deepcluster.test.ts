// DeepCluster's dropout draws its masks from (seed, step): same seed => bit-identical training, also across a resume.
// Its epoch is a cluster-uniform sample of mult * N images, and it refits once per such epoch.
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
import { epochOrder, epochPlan } from '../../ml/methods/plan.ts';
import { evaluateTestSet } from '../../ml/methods/test-set.ts';
import { normalizedMutualInformation } from '../../ml/cluster/index.ts';
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

test('mult = 2: each epoch draws mult * floor(N / K) images from every cluster, and a refit comes every mult * N samples', () => {
  // Unbalanced clusters: 8, 2 and 2 members. A plain permutation of the files would keep that 8:2:2 ratio.
  const labels = KEYS.map((_, i) => (i < 8 ? 0 : i < 10 ? 1 : 2));
  const t = new DeepClusterTrainer({
    config: { pca_dim: 4, k: 3, dense: [8], mult: 2, kmeans_max_iter: 10, lr: 0.05, lr_decay: 0 },
    inputShape: [8, 8, 3],
    fcn: tinyFcn(),
    rng: Rng.fromSeed(3),
    seed: 1,
  });
  t.setFileList(KEYS);
  t.state.labels = labels;
  const per = 2 * Math.floor(KEYS.length / 3);
  for (const seed of [1, 2, 3]) {
    const sample = t.epochSample(Rng.fromSeed(seed));
    assert.equal(sample.length, 3 * per, 'mult * N samples');
    const counts = [0, 0, 0];
    for (const index of sample) counts[labels[index]]++;
    assert.deepEqual(counts, [per, per, per], `seed ${seed}: uniform over clusters`);
    assert.ok(new Set(sample.filter((i) => labels[i] === 1)).size === 2, 'small clusters are drawn with replacement');
  }

  const batchSize = 4;
  const plan = epochPlan({ method: 'deepcluster', files: KEYS.length, batchSize, mult: 2 });
  assert.deepEqual(plan, { stepsPerEpoch: 6, imagesPerStep: batchSize, refitEvery: 1 });
  const samplesBetweenRefits = plan.refitEvery * plan.stepsPerEpoch * batchSize;
  assert.equal(samplesBetweenRefits, 2 * KEYS.length, 'one refit per mult * N samples');
  const order = epochOrder({ files: KEYS.length, stepsPerEpoch: plan.stepsPerEpoch, batchSize, seed: 1, epoch: 0, sample: t.epochSample(Rng.fromSeed(9)) });
  const orderCounts = [0, 0, 0];
  for (const index of order) orderCounts[labels[index]]++;
  assert.deepEqual(orderCounts, [per, per, per], "the epoch's batches hold the uniform sample");
  assert.deepEqual(epochPlan({ method: 'context-encoder', files: KEYS.length, batchSize, mult: 2 }), { stepsPerEpoch: 3, imagesPerStep: batchSize, refitEvery: 0 });
  t.dispose();
});

test("the test set's NMI between consecutive refits' assignments is logged as the reference's test_nmi", async () => {
  const t = trainer(5);
  const test = batchAt(0);
  const current = [0, 1, 2, 2];
  const previous = [0, 0, 1, 2];
  const options = { chunk: 3, seed: 1, pseudoLabels: current };
  const first = await evaluateTestSet(t, test, options);
  assert.equal(first.scalars.test_nmi, undefined, 'no NMI at the first refit');
  assert.ok(Number.isFinite(first.scalars.test_crossentropy));
  const later = await evaluateTestSet(t, test, { ...options, previousPseudoLabels: previous });
  assert.equal(later.scalars.test_nmi, normalizedMutualInformation(previous, current));
  assert.ok(later.scalars.test_nmi! > 0 && later.scalars.test_nmi! < 1);
  const same = await evaluateTestSet(t, test, { ...options, previousPseudoLabels: [2, 0, 1, 1] });
  assert.ok(Math.abs(same.scalars.test_nmi! - 1) < 1e-9, 'a relabelling of the same clusters has NMI 1');
  t.dispose();
});
