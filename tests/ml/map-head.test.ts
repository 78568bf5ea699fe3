// The original's heads on feature maps: parameter counts against tfjs layers, learning a task only maps can solve
// (a bright spot anywhere in a channel, with negatives of the same channel mean), and state round-trips.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayersModel } from '@tensorflow/tfjs';
import { activeTf, initBackend } from '../../ml/backend.ts';
import {
  averagePoolMaps,
  emptyTable,
  fitRoundHead,
  headParameterCount,
  loadRoundHead,
  MapHead,
  poolMaps,
  rocAuc,
  type HeadOptions,
  type LabelTable,
  type MapShape,
} from '../../ml/active/index.ts';
import { Rng } from '../../ml/rng.ts';

before(async () => {
  await initBackend({ purpose: 'train' });
});

const SHAPE: MapShape = [4, 4, 3];
const CLASSES = ['spot-0', 'spot-1'];

/**
 * Noise maps; class c puts a bright value (6) at one random cell of channel c, and an image without it spreads the same
 * mass evenly over that channel, so each channel's mean says nothing about the class while its maximum does.
 */
function spots(n: number, seed: number) {
  const [h, w, c] = SHAPE;
  const cells = h * w;
  const rng = Rng.fromSeed(seed);
  const x = new Float32Array(n * cells * c);
  const truth = new Int8Array(n * CLASSES.length);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < cells * c; j++) x[i * cells * c + j] = 0.3 * rng.normal();
    for (let cls = 0; cls < CLASSES.length; cls++) {
      const present = rng.uniform() < 0.5;
      truth[i * CLASSES.length + cls] = present ? 1 : 0;
      if (present) x[i * cells * c + rng.integer(0, cells) * c + cls] += 6;
      else for (let cell = 0; cell < cells; cell++) x[i * cells * c + cell * c + cls] += 6 / cells;
    }
  }
  return { x, truth };
}

function labelled(truth: Int8Array, n: number, rows: number, validation = 0): LabelTable {
  const table = emptyTable(n, CLASSES);
  table.labels.set(truth.subarray(0, rows * CLASSES.length));
  for (let i = rows - validation; i < rows; i++) table.validation[i] = 1;
  return table;
}

/** Mean AUC over the classes on rows [from, n). */
function heldOutAuc(probs: Float32Array, truth: Int8Array, from: number): number {
  const k = CLASSES.length;
  const n = truth.length / k;
  const aucs = CLASSES.map((_, cls) => {
    const scores: number[] = [];
    const labels: number[] = [];
    for (let i = from; i < n; i++) {
      scores.push(probs[i * k + cls]!);
      labels.push(truth[i * k + cls]!);
    }
    return rocAuc(scores, labels);
  });
  return aucs.reduce((a, b) => a + b, 0) / k;
}

/** The Keras model the original builds for these options (sigmoid output), made with tfjs layers. */
function layersModel(options: HeadOptions, shape: MapShape, classes: number): LayersModel {
  const tf = activeTf();
  const model = tf.sequential();
  model.add(tf.layers.inputLayer({ inputShape: shape }));
  if (options.kind === 'convnet')
    for (let i = 0; i < (options.layers ?? 1); i++) {
      const conv = { filters: options.filters ?? 256, kernelSize: options.kernel ?? 1, padding: 'same' as const, activation: 'relu' as const };
      model.add(options.separable ? tf.layers.separableConv2d(conv) : tf.layers.conv2d(conv));
    }
  model.add(options.pooling === 'avg' ? tf.layers.globalAveragePooling2d({}) : tf.layers.globalMaxPooling2d({}));
  if (options.output === 'cosine') model.add(tf.layers.dense({ units: 2 * classes, useBias: false }));
  else model.add(tf.layers.dense({ units: classes, activation: 'sigmoid' }));
  return model;
}

test('parameter counts of pool and convnet heads equal the tfjs layers models and the heads built', () => {
  const shape: MapShape = [5, 3, 7];
  const classes = 4;
  const cases: HeadOptions[] = [
    { kind: 'pool' },
    { kind: 'pool', pooling: 'avg', output: 'cosine' },
    { kind: 'convnet' },
    { kind: 'convnet', layers: 3, filters: 6, kernel: 3 },
    { kind: 'convnet', layers: 2, filters: 5, kernel: 3, separable: true, output: 'cosine' },
    { kind: 'convnet', layers: 1, filters: 9, kernel: 1, separable: true },
  ];
  for (const options of cases) {
    const count = headParameterCount(options, { dim: 5 * 3 * 7, mapShape: shape, classes });
    const model = layersModel(options, shape, classes);
    // The cosine output adds the classes' directions in their planes (2 per class) to the projection.
    const expected = model.countParams() + (options.output === 'cosine' ? 2 * classes : 0);
    model.dispose();
    assert.equal(count, expected, `${JSON.stringify(options)}: counted ${count}, tfjs has ${expected}`);
    const head = MapHead.create({ kind: options.kind as 'pool' | 'convnet', mapShape: shape, numClasses: classes, seed: 1, ...options } as never);
    assert.equal(head.parameterCount, count, `${JSON.stringify(options)}: MapHead has ${head.parameterCount}`);
    head.dispose();
  }
  assert.throws(() => headParameterCount({ kind: 'pool' }, { dim: 64, classes }), /--feature-maps/);
  assert.equal(headParameterCount({ kind: 'linear' }, { dim: 105, mapShape: shape, classes }), 7 * classes + classes, 'vector heads see pooled maps');
});

test('a max-pool head and a convnet head find a spot anywhere in a channel; average-pooled vectors cannot', () => {
  const n = 500;
  const train = 300;
  const { x, truth } = spots(n, 7);
  const table = labelled(truth, n, train, 60);
  const fit = (head: HeadOptions) => fitRoundHead({ features: x, table, options: head, seed: 11, mapShape: SHAPE });

  const pool = fit({ kind: 'pool', epochs: 5, learningRate: 1e-2 });
  const poolAuc = heldOutAuc(pool.head.predict(x), truth, train);
  assert.ok(poolAuc > 0.97, `max-pool head: held-out AUC ${poolAuc}`);
  assert.ok(pool.losses!.length === 5 * Math.ceil(1000 / 16) && pool.trainLoss! < pool.losses![0]!, 'losses per step, falling');

  const convnet = fit({ kind: 'convnet', layers: 2, filters: 8, kernel: 3, separable: true, spatialDropout: 0.1, epochs: 5, learningRate: 3e-3 });
  const convnetAuc = heldOutAuc(convnet.head.predict(x), truth, train);
  assert.ok(convnetAuc > 0.95, `convnet head: held-out AUC ${convnetAuc}`);

  const averaged = fit({ kind: 'logistic' });
  const averagedAuc = heldOutAuc(averaged.head.predict(x), truth, train);
  assert.ok(averagedAuc < 0.7, `logistic head on average-pooled maps: held-out AUC ${averagedAuc} (the task needs the maps)`);

  const avgPool = fit({ kind: 'pool', pooling: 'avg', epochs: 5, learningRate: 1e-2 });
  assert.ok(heldOutAuc(avgPool.head.predict(x), truth, train) < 0.7, 'an average-pool head sees only channel means');
  for (const f of [pool, convnet, averaged, avgPool]) f.head.dispose();
});

test('map head state round-trips through JSON: identical predictions and embeddings; training continues from it', () => {
  const n = 120;
  const { x, truth } = spots(n, 3);
  const table = labelled(truth, n, 80);
  const options: HeadOptions = { kind: 'convnet', filters: 4, kernel: 3, epochs: 1, samplesPerEpoch: 64, output: 'cosine' };
  const first = fitRoundHead({ features: x, table, options, seed: 5, mapShape: SHAPE });
  const state = JSON.parse(JSON.stringify({ ...first.head.toJSON(), classes: CLASSES }));
  const reloaded = loadRoundHead(state);
  assert.deepEqual(reloaded.predict(x), first.head.predict(x));
  const embedded = reloaded.embed(x);
  assert.equal(embedded.dim, 4);
  assert.deepEqual(embedded.data, first.head.embed(x).data);

  // One step of Adam at 1e-3 moves each weight by about 1e-3: a continued head stays next to the previous one.
  const oneStep = { ...options, epochs: 1, samplesPerEpoch: 1, batchSize: 1 };
  const next = fitRoundHead({ features: x, table, options: oneStep, seed: 6, mapShape: SHAPE, previous: state });
  const nextState = next.head.toJSON() as typeof state;
  assert.equal(nextState.config.seed, state.config.seed, 'a later round continues from the previous head');
  const moved = nextState.weights.flatMap((w: number[], i: number) => w.map((v, j) => Math.abs(v - state.weights[i][j])));
  assert.ok(Math.max(...moved) < 5e-3, `weights moved by up to ${Math.max(...moved)} in one step`);
  const fresh = fitRoundHead({ features: x, table, options: { ...oneStep, filters: 5 }, seed: 6, mapShape: SHAPE, previous: state });
  assert.equal(fresh.head.embed(x).dim, 5, 'a changed architecture starts afresh');
  for (const h of [first.head, reloaded, next.head, fresh.head]) h.dispose();
});

test('vector heads on maps pool them first and remember it; map heads on vectors name the fix', () => {
  const n = 60;
  const { x, truth } = spots(n, 4);
  const table = labelled(truth, n, 40);
  const linear = fitRoundHead({ features: x, table, options: { kind: 'linear', epochs: 1, samplesPerEpoch: 32 }, seed: 2, mapShape: SHAPE });
  const state = JSON.parse(JSON.stringify(linear.head.toJSON()));
  assert.deepEqual(state.poolMaps, SHAPE);
  assert.equal(state.config.inputDim, 3);
  assert.equal(state.weights.flat().length, headParameterCount({ kind: 'linear' }, { dim: 48, mapShape: SHAPE, classes: 2 }));
  assert.deepEqual(loadRoundHead(state).predict(x), linear.head.predict(x));

  const pooled = averagePoolMaps(x, SHAPE);
  assert.equal(pooled.length, n * 3);
  assert.ok(Math.abs(pooled[0]! - Array.from({ length: 16 }, (_, cell) => x[cell * 3]!).reduce((a, b) => a + b) / 16) < 1e-6);
  assert.equal(poolMaps(x, SHAPE, 'max')[1], Math.max(...Array.from({ length: 16 }, (_, cell) => x[cell * 3 + 1]!)));

  assert.throws(
    () => fitRoundHead({ features: pooled, table, options: { kind: 'pool' }, seed: 1 }),
    /needs feature maps.*--feature-maps.*rank-4 \.npy/,
  );
});
