// A refit over a source read in blocks: same seed and data, same sample, fit and labels as the in-memory
// clusterFeatures; the first pass reads only the sampled rows, and every row is assigned in the second.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import { activeTf, initBackend } from '../../ml/backend.ts';
import {
  batchedFeatureSource,
  clusterFeatures,
  clusterFeaturesInChunks,
  type FeatureBlock,
  type FeatureSource,
} from '../../ml/cluster/index.ts';
import { sampleRows } from '../../ml/cluster/kmeans.ts';
import { DeepClusterTrainer } from '../../ml/methods/index.ts';
import { Rng } from '../../ml/rng.ts';
import { gaussianBlobs, type Blobs } from './cluster-fixtures.ts';

before(async () => {
  await initBackend({ purpose: 'train' });
});

/** A source over a matrix in blocks of `block` rows that records which rows each pass asked for. */
function matrixSource(blobs: Blobs, block: number, drop: (row: number) => boolean = () => false) {
  const passes: number[][] = [];
  const largestBlock = { rows: 0 };
  const source: FeatureSource = {
    size: blobs.n,
    async *blocks(rows?: Int32Array): AsyncIterable<FeatureBlock> {
      const wanted = rows ? Array.from(rows) : Array.from({ length: blobs.n }, (_, i) => i);
      passes.push(wanted);
      for (let start = 0; start < wanted.length; start += block) {
        const kept = wanted.slice(start, start + block).filter((row) => !drop(row));
        const features = new Float32Array(kept.length * blobs.d);
        kept.forEach((row, i) => features.set(blobs.data.subarray(row * blobs.d, (row + 1) * blobs.d), i * blobs.d));
        largestBlock.rows = Math.max(largestBlock.rows, kept.length);
        yield { rows: Int32Array.from(kept), features, dim: blobs.d };
      }
    },
  };
  return { source, passes, largestBlock };
}

test('in blocks, a bounded refit equals clusterFeatures on the whole matrix, reading only the sample first', async () => {
  const tf = activeTf();
  const blobs = gaussianBlobs(Rng.fromSeed(3), 5, 400, 24, 4);
  const options = { pcaDim: 8, k: 5, nInit: 2, maxRowsPerCluster: 30 };
  const x = tf.tensor2d(blobs.data, [blobs.n, blobs.d]);
  const whole = clusterFeatures(x, options, Rng.fromSeed(5));
  x.dispose();
  const { source, passes, largestBlock } = matrixSource(blobs, 37);
  const chunked = await clusterFeaturesInChunks(source, options, Rng.fromSeed(5));

  assert.deepEqual(chunked.state, whole.state, 'same sample, same scaler, PCA and centroids');
  assert.deepEqual(chunked.labels, whole.labels, 'every row gets the label the in-memory path gives it');
  assert.equal(chunked.inertia, whole.inertia);
  assert.equal(chunked.sampleRows, 150);
  assert.ok(!chunked.labels.includes(-1), 'every row is assigned');
  assert.equal(passes.length, 2);
  assert.equal(passes[0]!.length, 150, 'the first pass reads only the k x maxRowsPerCluster sampled rows');
  assert.deepEqual(passes[0], [...passes[0]!].sort((a, b) => a - b), 'sampled rows are asked for in ascending order');
  assert.equal(passes[1]!.length, blobs.n, 'the second pass reads every row');
  assert.equal(largestBlock.rows, 37);
});

test('a source no larger than the sample is read once and fitted whole', async () => {
  const tf = activeTf();
  const blobs = gaussianBlobs(Rng.fromSeed(8), 3, 40, 6, 5);
  const options = { pcaDim: 4, k: 3, nInit: 1 };
  const x = tf.tensor2d(blobs.data, [blobs.n, blobs.d]);
  const whole = clusterFeatures(x, options, Rng.fromSeed(2));
  x.dispose();
  const { source, passes } = matrixSource(blobs, 16);
  const chunked = await clusterFeaturesInChunks(source, options, Rng.fromSeed(2));
  assert.equal(passes.length, 1);
  assert.deepEqual(chunked.labels, whole.labels);
  assert.deepEqual(chunked.state, whole.state);
});

test('rows the source cannot compute are labelled -1 and left out of the fit; the others are all assigned', async () => {
  const blobs = gaussianBlobs(Rng.fromSeed(4), 4, 300, 8, 6);
  const dropped = (row: number) => row % 97 === 5;
  const { source, passes } = matrixSource(blobs, 50, dropped);
  const result = await clusterFeaturesInChunks(source, { pcaDim: 4, k: 4, nInit: 1, maxRowsPerCluster: 40 }, Rng.fromSeed(1));
  const sampledAndDropped = passes[0]!.filter(dropped).length;
  assert.equal(result.sampleRows, 160 - sampledAndDropped);
  result.labels.forEach((label, row) => assert.equal(label === -1, dropped(row), `row ${row}: label ${label}`));
});

test('sampleRows draws the same rows as a full partial Fisher-Yates, holding only the swaps', () => {
  const dense = (n: number, m: number, rng: Rng) => {
    const picks = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < m; i++) {
      const j = rng.integer(i, n);
      [picks[i], picks[j]] = [picks[j]!, picks[i]!];
    }
    return picks.slice(0, m);
  };
  for (const [n, m, seed] of [[10, 10, 1], [1000, 37, 2], [50_000, 4000, 3], [1, 1, 4]] as const) {
    assert.deepEqual(sampleRows(n, m, Rng.fromSeed(seed)), dense(n, m, Rng.fromSeed(seed)), `n=${n} m=${m}`);
  }
});

test('batchedFeatureSource maps the keys a batch kept back to their rows and reads tensors back', async () => {
  const tf = activeTf();
  const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
  const source = batchedFeatureSource({
    size: keys.length,
    batchSize: 4,
    keysAt: (rows) => Array.from(rows, (row) => keys[row]!),
    rowsOf: async (asked) => {
      const ids = asked.filter((key) => key !== 'k2' && key !== 'k9');
      if (ids.length === 0) return undefined;
      return { ids, rows: tf.tensor2d(ids.map((key) => [Number(key.slice(1)), 1])) };
    },
  });
  const seen: Array<[number, number]> = [];
  for await (const block of source.blocks()) block.rows.forEach((row, i) => seen.push([row, block.features[i * block.dim]!]));
  assert.deepEqual(seen, [0, 1, 3, 4, 5, 6, 7, 8].map((row) => [row, row]));
  const picked: number[] = [];
  for await (const block of source.blocks(Int32Array.of(2, 7, 9))) picked.push(...block.rows);
  assert.deepEqual(picked, [7]);
  const bad = batchedFeatureSource({ size: 2, batchSize: 2, keysAt: (rows) => Array.from(rows), rowsOf: async () => ({ ids: [1, 0], rows: { features: new Float32Array(2), dim: 1 } }) });
  await assert.rejects(async () => {
    for await (const _ of bad.blocks());
  }, /not one of the keys asked for in their order/);
});

function tinyFcn(): LayersModel {
  const tf = activeTf();
  const input = tf.input({ shape: [8, 8, 3] });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' });
  return tf.model({ inputs: input, outputs: conv.apply(input) as SymbolicTensor });
}

test('DeepClusterTrainer.refitInChunks gives the pseudo-labels of refit, in file-list order, 0 for an image that failed', async () => {
  const tf = activeTf();
  const trainer = new DeepClusterTrainer({
    config: { pca_dim: 4, k: 3, dense: [16], mult: 1, kmeans_max_iter: 10, lr: 0.05, lr_decay: 0 },
    inputShape: [8, 8, 3],
    fcn: tinyFcn(),
    rng: Rng.fromSeed(11),
    seed: 1,
  });
  const keys = Array.from({ length: 30 }, (_, i) => `img-${i}.png`);
  const broken = 'img-7.png';
  const pixels = (key: string) => Rng.fromSeed(100 + keys.indexOf(key)).fillUniform(new Float32Array(8 * 8 * 3)) as Float32Array;
  const embed = (batchKeys: string[]) => {
    const kept = batchKeys.filter((key) => key !== broken);
    const images = new Float32Array(kept.length * 192);
    kept.forEach((key, i) => images.set(pixels(key), i * 192));
    return { ids: kept, rows: trainer.embedBatch({ images, shape: [kept.length, 8, 8, 3], keys: kept }) };
  };
  const kept = embed(keys);
  const whole = trainer.refit(kept.rows, Rng.fromSeed(3));
  kept.rows.dispose();
  const expected = keys.map((key) => (key === broken ? 0 : whole.labels[kept.ids.indexOf(key)]!));

  trainer.state.labels = [];
  const source = batchedFeatureSource({ size: keys.length, batchSize: 8, keysAt: (rows) => Array.from(rows, (row) => keys[row]!), rowsOf: async (batch) => embed(batch) });
  const chunked = await trainer.refitInChunks(source, Rng.fromSeed(3));
  assert.deepEqual(chunked.labels, expected);
  assert.deepEqual(trainer.state.labels, expected);
  assert.deepEqual(chunked.state, whole.state);
  assert.deepEqual(chunked.sizes, whole.sizes, 'sizes count the clustered images only');
  trainer.dispose();
  tf.disposeVariables();
});
