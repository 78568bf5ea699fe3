import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayersModel, SymbolicTensor, Tensor2D } from '@tensorflow/tfjs';
import { activeTf, initBackend } from '../../ml/backend.ts';
import { IicTrainer, iicLoss, parseIicConfig } from '../../ml/methods/iic.ts';
import { Rng } from '../../ml/rng.ts';
import { evaluateTestSet } from '../../ml/methods/test-set.ts';
import { epochPlan } from '../../ml/methods/plan.ts';
import { runPythonJson } from '../helpers/python.ts';

before(async () => {
  await initBackend({ purpose: 'train' });
});

function tinyFcn(channels: number): LayersModel {
  const tf = activeTf();
  const input = tf.input({ shape: [null, null, channels] });
  let x = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' })
    .apply(input) as SymbolicTensor;
  x = tf.layers.batchNormalization().apply(x) as SymbolicTensor;
  x = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' })
    .apply(x) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: x });
}

async function lossOf(z1: number[][], z2: number[][], entropyWeight = 0): Promise<number[]> {
  const tf = activeTf();
  const parts = tf.tidy(() => {
    const p = iicLoss(tf.tensor2d(z1) as Tensor2D, tf.tensor2d(z2) as Tensor2D, entropyWeight);
    return [p.loss, p.entropy, p.conditionalEntropy];
  });
  const values = await Promise.all(parts.map(async (t) => (await t.data())[0]!));
  tf.dispose(parts);
  return values;
}

test('MI loss equals a numpy computation of -sum P (log P - log Pi - log Pj) on a fixed joint', async () => {
  const z1 = [
    [0.7, 0.2, 0.1],
    [0.1, 0.8, 0.1],
    [0.3, 0.3, 0.4],
    [0.05, 0.15, 0.8],
  ];
  const z2 = [
    [0.6, 0.3, 0.1],
    [0.2, 0.7, 0.1],
    [0.1, 0.1, 0.8],
    [0.25, 0.25, 0.5],
  ];
  const expected = await runPythonJson<number[]>(
    `
import json, sys
import numpy as np
d = json.loads(sys.argv[1])
z1 = np.array(d['z1'], dtype=np.float64); z2 = np.array(d['z2'], dtype=np.float64)
P = np.einsum('bi,bj->ij', z1, z2) / z1.shape[0]
P = (P + P.T) / 2
P = np.maximum(P, 1e-7); P = P / P.sum()
Pi = P.sum(axis=0, keepdims=True); Pj = P.sum(axis=1, keepdims=True)
mi = float((P * (np.log(P) - np.log(Pi) - np.log(Pj))).sum())
H = float(-(P * np.log(Pj)).sum())
Hc = float(-(P * (np.log(P) - np.log(Pi))).sum())
print(json.dumps([-mi, H, Hc, -mi - 0.5 * H]))
`,
    { input: { z1, z2 } },
  );
  const [loss, entropy, conditional] = await lossOf(z1, z2);
  assert.ok(Math.abs(loss - expected[0]!) < 1e-5, `loss ${loss} vs numpy ${expected[0]}`);
  assert.ok(Math.abs(entropy - expected[1]!) < 1e-5, `entropy ${entropy} vs numpy ${expected[1]}`);
  assert.ok(
    Math.abs(conditional - expected[2]!) < 1e-5,
    `conditional entropy ${conditional} vs numpy ${expected[2]}`,
  );
  const [weighted] = await lossOf(z1, z2, 0.5);
  assert.ok(
    Math.abs(weighted - expected[3]!) < 1e-5,
    `entropy-weighted loss ${weighted} vs numpy ${expected[3]}`,
  );
});

test('MI loss is -log k for a balanced consistent assignment, and larger otherwise', async () => {
  const k = 4;
  const oneHot = (c: number) => Array.from({ length: k }, (_, i) => (i === c ? 1 : 0));
  const labels = [0, 1, 2, 3, 0, 1, 2, 3];
  const z = labels.map(oneHot);
  const [balanced] = await lossOf(z, z);
  assert.ok(Math.abs(balanced - -Math.log(k)) < 1e-4, `balanced loss ${balanced} vs -log k ${-Math.log(k)}`);
  // Unbalanced (all in two clusters), inconsistent (view 2 shifted), and uniform soft outputs all score higher.
  const [unbalanced] = await lossOf(
    [0, 0, 0, 0, 1, 1, 1, 1].map(oneHot),
    [0, 0, 0, 0, 1, 1, 1, 1].map(oneHot),
  );
  assert.ok(
    Math.abs(unbalanced - -Math.log(2)) < 1e-4,
    `two balanced clusters give -log 2, got ${unbalanced}`,
  );
  const [uniform] = await lossOf(
    labels.map(() => new Array(k).fill(1 / k)),
    z,
  );
  assert.ok(Math.abs(uniform) < 1e-4, `independent views give MI 0, got ${uniform}`);
  const [noisy] = await lossOf(
    z,
    labels.map((c) => oneHot((c + (c === 0 ? 1 : 0)) % k)),
  );
  assert.ok(
    noisy > balanced + 0.1,
    `a partly inconsistent assignment (${noisy}) must lose to the balanced one (${balanced})`,
  );
});

test('config: defaults and field-naming errors', () => {
  const config = parseIicConfig(undefined);
  assert.deepEqual(config, {
    k: 10,
    k_oc: 25,
    h: 5,
    r: 5,
    entropy_weight: 0,
    head_schedule: 'alternate',
    lr: 1e-4,
    lr_decay: 100000,
  });
  assert.throws(() => parseIicConfig({ k: 1 }), /iic\.k:/);
  assert.throws(() => parseIicConfig({ head_schedule: 'both' }), /iic\.head_schedule:.*'alternate' \| 'sum'/);
  assert.throws(() => parseIicConfig({ k_oc: 1 }), /iic\.k_oc:/);
});

test("config: the original's names k_oc, h, r, and this port's earlier names as aliases", () => {
  const original = parseIicConfig({ k: 4, k_oc: 12, h: 2, r: 3 });
  assert.deepEqual([original.k, original.k_oc, original.h, original.r], [4, 12, 2, 3]);
  assert.deepEqual(parseIicConfig({ k: 4, k_over: 12, num_sub_heads: 2, repeats: 3 }), original);
  assert.throws(() => parseIicConfig({ k_oc: 12, k_over: 12 }), /iic\.k_over: k_over is another name for k_oc; give only one of them/);
  assert.throws(() => parseIicConfig({ heads: 2 }), /Unrecognized key\(s\) in object: 'heads'/);
  const trainer = new IicTrainer({ config: parseIicConfig({ k: 3, k_oc: 4, h: 2, r: 1 }), inputShape: [8, 8, 3], fcn: tinyFcn(3), seed: 1 });
  assert.deepEqual(trainer.full.outputs.map((o) => o.shape[1]), [3, 3, 4, 4], 'h sub-heads of k and of k_oc clusters');
  trainer.dispose();
});

test('views: view 1 repeats each image, view 2 differs and is reproducible from the seed', () => {
  const config = parseIicConfig({ k: 3, k_oc: 4, h: 1, r: 2 });
  const rng = Rng.fromSeed(5);
  const images = rng.fillUniform(new Float32Array(2 * 8 * 8 * 3)) as Float32Array;
  const batch = { images, shape: [2, 8, 8, 3] as [number, number, number, number], keys: ['a', 'b'] };
  const make = () => new IicTrainer({ config, inputShape: [8, 8, 3], fcn: tinyFcn(3), seed: 9 });
  const a = make();
  const b = make();
  const va = a.makeViews(batch);
  const vb = b.makeViews(batch);
  assert.deepEqual(va.shape, [4, 8, 8, 3]);
  const size = 8 * 8 * 3;
  assert.deepEqual(va.view1.subarray(0, size), images.subarray(0, size));
  assert.deepEqual(va.view1.subarray(size, 2 * size), images.subarray(0, size));
  assert.deepEqual(va.view1.subarray(2 * size, 3 * size), images.subarray(size, 2 * size));
  assert.notDeepEqual(va.view2.subarray(0, size), va.view2.subarray(size, 2 * size));
  assert.deepEqual(va.view2, vb.view2);
  a.dispose();
  b.dispose();
});

test('a few steps on tiny random data: finite metrics, both head groups trained, loss goes down', async () => {
  const config = parseIicConfig({
    k: 3,
    k_oc: 5,
    h: 2,
    r: 2,
    lr: 0.01,
    head_schedule: 'alternate',
  });
  const trainer = new IicTrainer({ config, inputShape: [16, 16, 3], fcn: tinyFcn(3), seed: 1 });
  // Trainer interface
  assert.equal(trainer.method, 'iic');
  const { models, optimizers } = trainer.parts();
  assert.deepEqual(Object.keys(models), ['model']);
  assert.deepEqual(Object.keys(optimizers).sort(), ['main', 'over']);
  assert.equal(trainer.featureExtractor(), trainer.fcn);
  assert.equal(trainer.learningRate(100000), 0.005);
  trainer.setBaseLearningRate(0.02);
  assert.equal(trainer.learningRate(0), 0.02);
  trainer.setBaseLearningRate(0.01);

  const rng = Rng.fromSeed(3);
  const images = rng.fillUniform(new Float32Array(8 * 16 * 16 * 3)) as Float32Array;
  const batch = { images, shape: [8, 16, 16, 3] as [number, number, number, number], keys: [] as string[] };
  const headBefore = trainer.full.getLayer('iic_head_0').getWeights()[0]!.dataSync().slice();
  const ocBefore = trainer.full.getLayer('iic_oc_head_0').getWeights()[0]!.dataSync().slice();
  const mainLosses: number[] = [];
  for (let step = 0; step < 12; step++) {
    const m = await trainer.trainStep(batch, step);
    for (const [tag, value] of Object.entries(m))
      assert.ok(Number.isFinite(value), `${tag} = ${value} at step ${step}`);
    if (step % 2 === 0) {
      mainLosses.push(m.model_loss!);
      assert.equal(m.loss, m.model_loss);
    } else assert.equal(m.loss, m.ocmodel_loss);
    assert.ok(m.head_0_loss! >= -Math.log(3) - 1e-4, 'per-head loss is bounded below by -log k');
    const sizes = trainer.lastClusterSizes.head_0!;
    assert.equal(sizes.length, 3);
    assert.equal(
      sizes.reduce((s, v) => s + v, 0),
      16,
    );
    assert.equal(trainer.lastClusterSizes.oc_head_1!.length, 5);
  }
  assert.ok(mainLosses.at(-1)! < mainLosses[0]!, `main loss should go down: ${mainLosses.join(', ')}`);
  const headAfter = trainer.full.getLayer('iic_head_0').getWeights()[0]!.dataSync();
  const ocAfter = trainer.full.getLayer('iic_oc_head_0').getWeights()[0]!.dataSync();
  assert.notDeepEqual(Array.from(headAfter), Array.from(headBefore), 'main heads must be trained');
  assert.notDeepEqual(Array.from(ocAfter), Array.from(ocBefore), 'over-clustering heads must be trained');
  const joints = await trainer.jointImages(batch);
  assert.deepEqual(Object.keys(joints).sort(), ['P_head_0', 'P_head_1', 'P_oc_head_0', 'P_oc_head_1']);
  assert.equal(joints.P_oc_head_0!.values.length, 25);
  assert.equal(Math.max(...joints.P_head_0!.values), 1);
  assert.deepEqual(trainer.methodState(), {});
  trainer.dispose();
});

test('test-set evaluation logs the P_head_i and P_oc_head_i joint images: symmetric k x k, scaled to a maximum of 255', async () => {
  const trainer = new IicTrainer({ config: parseIicConfig({ k: 3, k_oc: 4, h: 2, r: 2 }), inputShape: [16, 16, 3], fcn: tinyFcn(3), seed: 1 });
  const images = Rng.fromSeed(4).fillUniform(new Float32Array(5 * 16 * 16 * 3)) as Float32Array;
  const test = { images, shape: [5, 16, 16, 3] as [number, number, number, number], keys: [] as string[] };
  const result = await evaluateTestSet(trainer, test, { chunk: 4, seed: 2 });
  assert.deepEqual(Object.keys(result.images).sort(), ['P_head_0', 'P_head_1', 'P_oc_head_0', 'P_oc_head_1']);
  for (const [name, image] of Object.entries(result.images)) {
    const k = name.startsWith('P_oc') ? 4 : 3;
    assert.deepEqual([image.height, image.width, image.data.length], [k, k, k * k * 3], name);
    assert.equal(Math.max(...image.data), 255, `${name} is divided by its maximum`);
    const gray = (i: number, j: number) => image.data[(i * k + j) * 3]!;
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) assert.equal(gray(i, j), gray(j, i), `${name} is symmetric`);
  }
  assert.ok(Number.isFinite(result.scalars.test_head_0_loss));
  trainer.dispose();
});

test('a run step trains on batch_size pairs as the original: ceil(B / r) images, each r times, the last cut short', async () => {
  const plan = epochPlan({ method: 'iic', files: 24, batchSize: 8, r: 3 });
  assert.deepEqual(plan, { stepsPerEpoch: 8, imagesPerStep: 3, refitEvery: 0 }, 'an epoch shows every image once');
  const trainer = new IicTrainer({ config: parseIicConfig({ k: 3, k_oc: 4, h: 1, r: 3 }), inputShape: [8, 8, 3], fcn: tinyFcn(3), seed: 1, pairsPerStep: 8 });
  const size = 8 * 8 * 3;
  const images = Rng.fromSeed(8).fillUniform(new Float32Array(plan.imagesPerStep * size)) as Float32Array;
  const batch = { images, shape: [plan.imagesPerStep, 8, 8, 3] as [number, number, number, number], keys: ['a', 'b', 'c'] };
  const views = trainer.makeViews(batch, 8);
  assert.deepEqual(views.shape, [8, 8, 8, 3]);
  const source = [0, 0, 0, 1, 1, 1, 2, 2];
  source.forEach((image, row) =>
    assert.deepEqual(views.view1.subarray(row * size, (row + 1) * size), images.subarray(image * size, (image + 1) * size), `pair ${row} shows image ${image}`),
  );
  assert.deepEqual(trainer.makeViews(batch).shape, [9, 8, 8, 3], 'without a limit every image is repeated r times');
  await trainer.trainStep(batch, 0);
  assert.equal(trainer.lastClusterSizes.head_0!.reduce((a, b) => a + b, 0), 8, 'the step trained on batch_size pairs');
  trainer.dispose();
});
