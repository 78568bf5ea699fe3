// A refit on a large source fits on a bounded sample and still assigns every row; long fits report each iteration.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { activeTf, initBackend } from '../../ml/backend.ts';
import { assignFeatures, clusterFeatures, KMeans, normalizedMutualInformation } from '../../ml/cluster/index.ts';
import { Rng } from '../../ml/rng.ts';
import { gaussianBlobs } from './cluster-fixtures.ts';

before(async () => {
  await initBackend({ purpose: 'train' });
});

test('clusterFeatures fits on k x maxRowsPerCluster rows and labels every row like a full assignment', () => {
  const tf = activeTf();
  const blobs = gaussianBlobs(Rng.fromSeed(3), 4, 500, 32, 6);
  const x = tf.tensor2d(blobs.data, [blobs.n, blobs.d]);
  let iterations = 0;
  const result = clusterFeatures(x, { pcaDim: 8, k: 4, nInit: 1, maxRowsPerCluster: 25, onIteration: () => iterations++ }, Rng.fromSeed(5));
  assert.equal(result.labels.length, 2000, 'every row has a label');
  assert.equal(normalizedMutualInformation(result.labels, blobs.labels), 1);
  assert.deepEqual(assignFeatures(x, result.state), result.labels, 'the labels are the fitted state assigning every row');
  assert.equal(iterations, result.iterations, 'one progress call per Lloyd iteration');
  x.dispose();
});

test('a bounded fit draws its sample from the seed: same seed, same centroids', () => {
  const tf = activeTf();
  const blobs = gaussianBlobs(Rng.fromSeed(4), 3, 400, 16, 6);
  const x = tf.tensor2d(blobs.data, [blobs.n, blobs.d]);
  const fit = (seed: number) => clusterFeatures(x, { pcaDim: 4, k: 3, nInit: 1, maxRowsPerCluster: 30 }, Rng.fromSeed(seed)).state;
  assert.deepEqual(fit(9), fit(9));
  assert.notDeepEqual(fit(9).scaler, fit(10).scaler, 'another seed fits on another sample');
  assert.throws(() => clusterFeatures(x, { pcaDim: 4, k: 3, maxRowsPerCluster: 0 }, Rng.fromSeed(1)), /maxRowsPerCluster must be a positive integer/);
  x.dispose();
});

test('KMeans.fit reports run and iteration to onIteration', () => {
  const tf = activeTf();
  const blobs = gaussianBlobs(Rng.fromSeed(6), 3, 50, 8, 6);
  const x = tf.tensor2d(blobs.data, [blobs.n, blobs.d]);
  const seen: string[] = [];
  KMeans.fit(x, { k: 3, nInit: 2, onIteration: ({ run, iteration }) => seen.push(`${run}:${iteration}`) }, Rng.fromSeed(2));
  assert.ok(seen.includes('0:1') && seen.includes('1:1'), seen.join(' '));
  x.dispose();
});
