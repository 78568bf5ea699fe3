import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SymbolicTensor } from '@tensorflow/tfjs';
import { activeTf, initBackend } from '../../ml/backend.ts';
import {
  confusionMatrix,
  linearProbe,
  linearProbeReport,
  matrixImage,
  normalizeByMax,
  pooledFeatures,
  splitLabels,
} from '../../ml/eval/linear-probe.ts';
import { Rng } from '../../ml/rng.ts';

before(async () => {
  await initBackend({ purpose: 'train' });
});

test('split: every third item from the first goes to test, in insertion order', () => {
  const labels = { f0: 'a', f1: 'b', f2: 'a', f3: 'c', f4: 'a', f5: 'b', f6: 'c' };
  const { train, test: testSet } = splitLabels(labels);
  assert.deepEqual(
    testSet.map(([k]) => k),
    ['f0', 'f3', 'f6'],
  );
  assert.deepEqual(
    train.map(([k]) => k),
    ['f1', 'f2', 'f4', 'f5'],
  );
  const fromPairs = splitLabels(
    new Map([
      ['z', 1],
      ['y', 2],
      ['x', 3],
      ['w', 4],
    ]),
  );
  assert.deepEqual(fromPairs.test, [
    ['z', 1],
    ['w', 4],
  ]);
});

test('confusion matrix: rows true, columns predicted, labels sorted, divided by its max; image upscaled', () => {
  const truth = ['c', 'a', 'a', 'b', 'c', 'c'];
  const predicted = ['c', 'a', 'b', 'b', 'a', 'c'];
  const { labels, counts } = confusionMatrix(truth, predicted);
  assert.deepEqual(labels, ['a', 'b', 'c']);
  assert.deepEqual(counts, [
    [1, 1, 0],
    [0, 1, 0],
    [1, 0, 2],
  ]);
  const normalized = normalizeByMax(counts);
  assert.deepEqual(normalized, [
    [0.5, 0.5, 0],
    [0, 0.5, 0],
    [0.5, 0, 1],
  ]);
  assert.deepEqual(confusionMatrix([10, 2, 2], [2, 10, 2]).labels, [2, 10], 'numbers sort numerically');
  const { data, shape, cell } = matrixImage(normalized);
  assert.equal(cell, 85); // floor(256 / 3)
  assert.deepEqual(shape, [255, 255, 3]);
  const px = (y: number, x: number) => Array.from(data.subarray((y * 255 + x) * 3, (y * 255 + x) * 3 + 3));
  assert.deepEqual(px(0, 0), [128, 128, 128]); // (a, a) = 0.5
  assert.deepEqual(px(84, 84 + 85), [128, 128, 128]); // (a, b), last pixel of the cell
  assert.deepEqual(px(85, 0), [0, 0, 0]); // (b, a)
  assert.deepEqual(px(254, 254), [255, 255, 255]); // (c, c)
  assert.deepEqual(px(200, 10), [128, 128, 128]); // (c, a)
  assert.equal(matrixImage([[1]]).shape[0], 256);
  assert.equal(matrixImage(Array.from({ length: 100 }, () => new Array(100).fill(0))).cell, 8);
});

test('pooled features are the per-channel spatial means of the FCN output', async () => {
  const tf = activeTf();
  const input = tf.input({ shape: [null, null, 2] });
  const conv = tf.layers.conv2d({ filters: 2, kernelSize: 1, useBias: false });
  const fcn = tf.model({ inputs: input, outputs: conv.apply(input) as SymbolicTensor });
  conv.setWeights([tf.tensor4d([1, 0, 0, 2], [1, 1, 2, 2])]); // out0 = in0, out1 = 2 * in1
  // Two 2x2 images, channels interleaved.
  const images = new Float32Array([1, 1, 2, 0, 3, 1, 6, 2, /* image 2 */ 0, 4, 0, 4, 0, 4, 4, 0]);
  const { features, dim } = await pooledFeatures(fcn, images, [2, 2, 2, 2], 1);
  assert.equal(dim, 2);
  assert.deepEqual(Array.from(features), [3, 2, 1, 6]);
});

test('linear probe: accuracy 1 on separable synthetic features, report tags', async () => {
  const rng = Rng.fromSeed(21);
  const dim = 6;
  const centres: Record<string, number[]> = {
    cat: [4, 0, 0, 0, 1, 0],
    dog: [0, 4, 0, 0, 1, 0],
    owl: [0, 0, 4, 0, 1, 0],
  };
  const names = Object.keys(centres);
  const labels: Array<[string, string]> = [];
  const byKey = new Map<string, number[]>();
  for (let i = 0; i < 45; i++) {
    const label = names[Math.floor(i / 3) % 3]!; // so the every-third test set holds all three classes
    const key = `img${i}`;
    labels.push([key, label]);
    byKey.set(
      key,
      centres[label]!.map((c) => c + rng.normal(0, 0.5)),
    );
  }
  const { train, test: testSet } = splitLabels(labels);
  const features = (pairs: Array<[string, string | number]>) =>
    new Float32Array(pairs.flatMap(([k]) => byKey.get(k)!));
  const result = await linearProbe(
    { features: features(train), labels: train.map(([, l]) => l) },
    { features: features(testSet), labels: testSet.map(([, l]) => l) },
    dim,
  );
  assert.equal(result.accuracy, 1);
  assert.deepEqual(result.labels, ['cat', 'dog', 'owl']);
  assert.deepEqual(result.counts, [
    [5, 0, 0],
    [0, 5, 0],
    [0, 0, 5],
  ]);
  assert.deepEqual(
    result.predictions,
    testSet.map(([, l]) => l),
  );
  const report = linearProbeReport(result, { k: 10, sobel: false });
  assert.equal(report.scalars.linear_classification_accuracy, 1);
  assert.equal(report.metrics.linear_classification_accuracy, 1);
  assert.deepEqual(report.images.linear_classification_confusion_matrix.shape, [255, 255, 3]);
  assert.deepEqual(report.hparams, { k: 10, sobel: false });
});

test('linear probe: a class that is not linearly separable from another lowers the accuracy', async () => {
  // Labels 0/1 depend on nothing in the features (identical points), so the test set cannot be all right.
  const train = { features: new Float32Array([1, 1, 1, 1, 1, 1, 1, 1]), labels: [0, 1, 0, 1] };
  const test2 = { features: new Float32Array([1, 1, 1, 1]), labels: [0, 1] };
  const result = await linearProbe(train, test2, 2, { maxIter: 20 });
  assert.equal(result.accuracy, 0.5);
});
