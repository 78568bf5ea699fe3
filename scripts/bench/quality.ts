// Feature quality on Fashion-MNIST: linear-probe accuracy of the features after a fixed short budget of
// DeepCluster and of IIC, against the same network with its starting (random) weights and against logistic
// regression on raw pixels. The features must beat both. A script, not a test; numbers go in BENCHMARKS.md.
//
// Usage: npm run bench:quality [-- --eval test|val --pretrain N --epochs E --features stages ...] (see parseArgs below)
//
// - Pretraining images: the first `--pretrain` images of the train split (at most 50 000), labels unused.
// - Probe, the same data and classifier for every row: fitted on train-split images 50 000.. (`--probe-fit`, never
//   pretrained on) and scored on
//   `--eval test` (the reported numbers): all 10 000 images of the dataset's own test split (t10k);
//   `--eval val` (for choosing settings): train-split images 55 000..59 999 (never pretrained on, never fitted on).
//   Each row prints its accuracy with the binomial standard error, and each trained row its paired difference to
//   the two bars (same scored images) with that difference's standard error.
// - Images: 28x28 grey from the idx arrays, /255, bilinear-resized to `--size`, one channel (no Sobel, no PNG).
// - Network: smallResNet({ channels: 1, widths }); probe features (`--features`, ml/eval/layer-features.ts), the
//   same extraction for every network row: `gap` = the output globally average-pooled; `stages` = every stage's
//   output globally average-pooled and concatenated; `grid2` = the output average-pooled to 2x2. Several modes may
//   be given (comma list); the verdict uses the first.
// - Starting weights: every kernel Glorot-uniform from ml/rng.ts (seed `--seed`), biases 0, BN gamma 1 / beta 0.
//   DeepCluster and IIC both start from exactly these FCN weights, and the "random weights" row is this FCN untrained.
// - Raw pixels: the 784 pixels in [0, 1], through our `linearProbe` and through scikit-learn's LogisticRegression
//   (lbfgs, C=1, after StandardScaler) in .tools/venv; the bar is the better of the two.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import { initBackend } from '../../ml/backend.ts';
import type { AugmentParams, Batch } from '../../ml/data/index.ts';
import { layerFeatures } from '../../ml/eval/layer-features.ts';
import { linearProbe, type Label } from '../../ml/eval/linear-probe.ts';
import { installNativeKernels } from '../../ml/kernels/native/index.ts';
import { createTrainer, type Trainer } from '../../ml/methods/index.ts';
import { STREAM, derivedSeed, epochOrder, stepIndices } from '../../ml/methods/plan.ts';
import { smallResNet } from '../../ml/models/index.ts';
import { Rng } from '../../ml/rng.ts';
import { FASHION_MNIST_DIR, readIdxImages, readIdxLabels } from '../fashion-mnist.ts';
import { arrayBatch, GREY_AUGMENT, seededInit, stageOutputs, trainDeepCluster } from './lib/fcn.ts';

const { values } = parseArgs({
  options: {
    eval: { type: 'string', default: 'test' },
    pretrain: { type: 'string', default: '12000' },
    'probe-fit': { type: 'string', default: '5000' },
    epochs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '64' },
    seed: { type: 'string', default: '5' },
    size: { type: 'string', default: '32' },
    widths: { type: 'string', default: '32,64,128,256' },
    features: { type: 'string', default: 'stages' },
    zoom: { type: 'string', default: '0.2' },
    'select-prob': { type: 'string', default: '0.5' },
    'dc-k': { type: 'string', default: '300' },
    'dc-lr': { type: 'string', default: '0.05' },
    'dc-pca': { type: 'string', default: '64' },
    'dc-dense': { type: 'string', default: '512' },
    'dc-head': { type: 'string', default: 'flatten' },
    'iic-lr': { type: 'string', default: '0.001' },
    'iic-repeats': { type: 'string', default: '2' },
    'iic-k-over': { type: 'string', default: '50' },
    only: { type: 'string', default: 'deepcluster,iic' },
  },
});
const fail = (message: string): never => {
  console.error(`bench:quality: ${message}`);
  process.exit(2);
};
const integer = (name: string, min: number, max = Infinity): number => {
  const v = Number(values[name as keyof typeof values]);
  if (!Number.isInteger(v) || v < min || v > max)
    fail(
      `--${name} must be an integer in ${min}..${max}, got ${String(values[name as keyof typeof values])}`,
    );
  return v;
};
const positive = (name: string): number => {
  const v = Number(values[name as keyof typeof values]);
  if (!(v > 0))
    fail(`--${name} must be a positive number, got ${String(values[name as keyof typeof values])}`);
  return v;
};
if (values.eval !== 'test' && values.eval !== 'val') fail(`--eval must be test or val, got ${values.eval}`);
const PROBE_START = 50000;
const VAL_START = 55000;
const nPretrain = integer('pretrain', 64, PROBE_START);
const nFit = integer('probe-fit', 30, VAL_START - PROBE_START);
const epochs = integer('epochs', 1);
const batchSize = integer('batch', 2);
const seed = integer('seed', 0);
const size = integer('size', 8);
const widths = values.widths!.split(',').map(Number);
const FEATURE_MODES = ['gap', 'stages', 'grid2'] as const;
type FeatureMode = (typeof FEATURE_MODES)[number];
const featureModes = values.features!.split(',') as FeatureMode[];
for (const m of featureModes)
  if (!FEATURE_MODES.includes(m)) fail(`--features: unknown mode ${m}; use ${FEATURE_MODES.join(', ')}`);
const methods = values.only!.split(',');
for (const m of methods)
  if (m !== 'deepcluster' && m !== 'iic') fail(`--only: unknown method ${m}; use deepcluster, iic`);
const python = join(import.meta.dirname, '..', '..', '.tools', 'venv', 'bin', 'python');
const t0 = performance.now();
const elapsed = () => ((performance.now() - t0) / 1000).toFixed(0) + ' s';

const { tf, name: backend } = await initBackend({ purpose: 'train' });
installNativeKernels();

// --- data -----------------------------------------------------------------------------------------------------------
const trainImages = await readIdxImages(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
const trainLabels = await readIdxLabels(join(FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz'));
const scored =
  values.eval === 'test'
    ? {
        images: await readIdxImages(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz')),
        labels: await readIdxLabels(join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz')),
        start: 0,
        count: 10000,
      }
    : { images: trainImages, labels: trainLabels, start: VAL_START, count: 60000 - VAL_START };
const PIXELS = 28 * 28;
const toFloat = (bytes: Uint8Array, start: number, count: number) =>
  Float32Array.from(bytes.subarray(start * PIXELS, (start + count) * PIXELS), (v) => v / 255);
const resized = (raw: Float32Array, count: number): Float32Array =>
  tf.tidy(() =>
    tf.image.resizeBilinear(tf.tensor4d(raw, [count, 28, 28, 1]), [size, size]).dataSync(),
  ) as Float32Array;
const pretrain = resized(toFloat(trainImages.data, 0, nPretrain), nPretrain);
/** Probe images: the fitted ones first, then the scored ones. */
const probe = {
  fit: {
    raw: toFloat(trainImages.data, PROBE_START, nFit),
    labels: Array.from(trainLabels.subarray(PROBE_START, PROBE_START + nFit)) as Label[],
  },
  score: {
    raw: toFloat(scored.images.data, scored.start, scored.count),
    labels: Array.from(scored.labels.subarray(scored.start, scored.start + scored.count)) as Label[],
  },
};
const probeImages = {
  fit: resized(probe.fit.raw, nFit),
  score: resized(probe.score.raw, scored.count),
};
const imageSize = size * size;

// --- network and deterministic starting weights ----------------------------------------------------------------------
const inputShape: [number, number, number] = [size, size, 1];
const makeFcn = () => smallResNet({ channels: 1, widths });
const initialFcn = makeFcn();
seededInit(initialFcn, Rng.fromSeed(derivedSeed(seed, 100, 0)));
const initialWeights = initialFcn.getWeights().map((w) => w.clone());

// --- probes -------------------------------------------------------------------------------------------------------
interface ProbeRow {
  name: string;
  dim: number;
  accuracy: number;
  /** 1 where the scored image was classified correctly. */
  correct: Uint8Array;
}
const correctOf = (predictions: readonly Label[]) =>
  Uint8Array.from(predictions, (p, i) => (p === probe.score.labels[i] ? 1 : 0));

async function probeFeatures(fit: Float32Array, score: Float32Array, dim: number) {
  const r = await linearProbe(
    { features: fit, labels: probe.fit.labels },
    { features: score, labels: probe.score.labels },
    dim,
  );
  return { accuracy: r.accuracy, dim, correct: correctOf(r.predictions) };
}

async function probeFcn(fcn: LayersModel, mode: FeatureMode) {
  const options =
    mode === 'gap'
      ? {}
      : mode === 'stages'
        ? { layers: stageOutputs(initialFcn, widths.length) }
        : { grid: 2 };
  const fit = await layerFeatures(fcn, probeImages.fit, [nFit, size, size, 1], options);
  const score = await layerFeatures(fcn, probeImages.score, [scored.count, size, size, 1], options);
  return probeFeatures(fit.features, score.features, fit.dim);
}

function sklearnRawPixels() {
  const dir = mkdtempSync(join(tmpdir(), 'patchwork-bench-quality-'));
  try {
    writeFileSync(join(dir, 'xtr.f32'), probe.fit.raw);
    writeFileSync(join(dir, 'xte.f32'), probe.score.raw);
    writeFileSync(join(dir, 'ytr.i32'), Int32Array.from(probe.fit.labels, Number));
    const script = String.raw`
import sys, numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
d = sys.argv[1]
xtr = np.fromfile(d + "/xtr.f32", dtype=np.float32).reshape(-1, 784)
xte = np.fromfile(d + "/xte.f32", dtype=np.float32).reshape(-1, 784)
ytr = np.fromfile(d + "/ytr.i32", dtype=np.int32)
s = StandardScaler().fit(xtr)
clf = LogisticRegression(max_iter=2000).fit(s.transform(xtr), ytr)
clf.predict(s.transform(xte)).astype(np.int32).tofile(d + "/pred.i32")
`;
    execFileSync(python, ['-c', script, dir], { encoding: 'utf8' });
    const bytes = readFileSync(join(dir, 'pred.i32'));
    const predictions = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readInt32LE(i * 4));
    const correct = correctOf(predictions);
    return { accuracy: correct.reduce((a, b) => a + b, 0) / correct.length, dim: PIXELS, correct };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- pretraining ----------------------------------------------------------------------------------------------------
const stepsPerEpoch = Math.floor(nPretrain / batchSize);
const augment: AugmentParams = {
  ...GREY_AUGMENT,
  zoom_scale: Number(values.zoom),
  select_prob: Number(values['select-prob']),
};
const pretrainImages = { data: pretrain, size };
const batchOf = (indices: number[], withAugment: AugmentParams | null, step: number): Batch =>
  arrayBatch(pretrainImages, indices, withAugment, seed, step);

/**
 * The FCN with its output globally average-pooled but kept as a [B, 1, 1, C] map, so DeepCluster's flatten -> dense
 * head sees exactly the pooled features the probe uses (`--dc-head gap`); pooling it again is a no-op.
 */
function pooledFcn(fcn: LayersModel): LayersModel {
  const input = tf.input({ shape: [null, null, 1] });
  const pooled = tf.layers
    .globalAveragePooling2d({})
    .apply(fcn.apply(input) as SymbolicTensor) as SymbolicTensor;
  const map = tf.layers.reshape({ targetShape: [1, 1, widths.at(-1)!] }).apply(pooled) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: map, name: 'pooled_fcn' });
}

function deepClusterConfig() {
  return {
    k: integer('dc-k', 2),
    dense: values['dc-dense']!.split(',').map(Number),
    pca_dim: integer('dc-pca', 1),
    kmeans_max_iter: 30,
    lr: Number(values['dc-lr']),
    lr_decay: 0,
  };
}

function newIicTrainer(): Trainer {
  const base = makeFcn();
  const fcn = base;
  const config = {
    k: 10,
    k_oc: integer('iic-k-over', 2),
    h: 5,
    r: Number(values['iic-repeats']),
    lr: Number(values['iic-lr']),
    lr_decay: 0,
  };
  const trainer = createTrainer('iic', {
    config,
    inputShape,
    fcn,
    rng: Rng.fromSeed(derivedSeed(seed, STREAM.trainer, 0)),
    augment,
  });
  // Heads from the seeded stream too, then the shared starting FCN weights.
  seededInit(trainer.parts().models.model!, Rng.fromSeed(derivedSeed(seed, 101, 0)));
  base.setWeights(initialWeights);
  return trainer;
}

async function runDeepCluster(): Promise<{ fcn: LayersModel; log: string[] }> {
  const base = makeFcn();
  const log: string[] = [];
  const fcn = await trainDeepCluster({
    fcn: values['dc-head'] === 'gap' ? pooledFcn(base) : base,
    initialWeights,
    images: pretrainImages,
    count: nPretrain,
    epochs,
    batchSize,
    seed,
    config: deepClusterConfig(),
    augment,
    log: (line) => {
      const timed = `${line} (${elapsed()})`;
      console.log(timed);
      log.push(timed);
    },
  });
  return { fcn, log };
}

async function runIic(): Promise<{ fcn: LayersModel; log: string[] }> {
  const trainer = newIicTrainer();
  const log: string[] = [];
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = epochOrder({ files: nPretrain, stepsPerEpoch, batchSize, seed, epoch });
    let loss = 0;
    let metrics: Record<string, number> = {};
    for (let s = 0; s < stepsPerEpoch; s++, step++) {
      // Unaugmented batches: view 2 is the trainer's own augmentation of each image.
      metrics = await trainer.trainStep(batchOf(stepIndices(order, s, batchSize), null, step), step);
      loss += metrics.model_loss!;
    }
    const line = `iic epoch ${epoch}: mean main loss ${(loss / stepsPerEpoch).toFixed(3)} (summed over sub-heads, counted on even steps), head_0 clusters used ${metrics.head_0_clusters_used} (${elapsed()})`;
    console.log(line);
    log.push(line);
  }
  return { fcn: trainer.featureExtractor(), log };
}

// --- run ------------------------------------------------------------------------------------------------------------
console.log(
  `backend ${backend}; eval ${values.eval}: probe fitted on ${nFit} train-split images from ${PROBE_START}, scored on ` +
    `${scored.count} ${values.eval === 'test' ? 't10k' : `train-split images from ${VAL_START}`}; pretrain ${nPretrain} ` +
    `images, ${epochs} epochs x ${stepsPerEpoch} steps of ${batchSize}; ${size}x${size}x1; smallResNet [${widths}]; ` +
    `features ${featureModes.join(', ')}`,
);
const rows: ProbeRow[] = [];
const pct = (v: number) => (v * 100).toFixed(1);
/** Binomial standard error of an accuracy over the scored images, in points. */
const stdErr = (accuracy: number) => Math.sqrt((accuracy * (1 - accuracy)) / probe.score.labels.length) * 100;
/** Accuracy difference a - b on the same scored images and its standard error (paired), in points. */
function pairedDifference(a: Uint8Array, b: Uint8Array): { diff: number; se: number } {
  const n = a.length;
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    sum += d;
    sumSq += d * d;
  }
  const mean = sum / n;
  return { diff: mean * 100, se: Math.sqrt((sumSq / n - mean * mean) / (n - 1)) * 100 };
}
const add = (row: ProbeRow) => {
  rows.push(row);
  console.log(`${row.name}: ${pct(row.accuracy)}% ± ${stdErr(row.accuracy).toFixed(1)} (${elapsed()})`);
};
const sklearnRow = { name: 'raw pixels, scikit-learn LogisticRegression', ...sklearnRawPixels() };
add(sklearnRow);
const oursRow = {
  name: 'raw pixels, our linearProbe',
  ...(await probeFeatures(probe.fit.raw, probe.score.raw, PIXELS)),
};
add(oursRow);
const rawBar = sklearnRow.accuracy >= oursRow.accuracy ? sklearnRow : oursRow;
const randomRows: Record<string, ProbeRow> = {};
for (const mode of featureModes) {
  randomRows[mode] = { name: `random weights, ${mode}`, ...(await probeFcn(initialFcn, mode)) };
  add(randomRows[mode]);
}
const seconds: Record<string, number> = {};
const verdicts: string[] = [];
for (const method of methods) {
  const start = performance.now();
  const { fcn } = method === 'deepcluster' ? await runDeepCluster() : await runIic();
  seconds[method] = (performance.now() - start) / 1000;
  const label = method === 'deepcluster' ? 'DeepCluster' : 'IIC';
  for (const [i, mode] of featureModes.entries()) {
    const row = { name: `${label}, ${mode}`, ...(await probeFcn(fcn, mode)) };
    add(row);
    const vsRaw = pairedDifference(row.correct, rawBar.correct);
    const vsRandom = pairedDifference(row.correct, randomRows[mode]!.correct);
    const ok = vsRaw.diff > 0 && vsRandom.diff > 0;
    const line =
      `${i === 0 ? 'verdict' : 'also'} ${label} (${mode}): ${ok ? 'PASS' : 'FAIL'}: ${pct(row.accuracy)}%, ` +
      `vs raw pixels ${vsRaw.diff >= 0 ? '+' : ''}${vsRaw.diff.toFixed(1)} ± ${vsRaw.se.toFixed(1)}, ` +
      `vs random weights ${vsRandom.diff >= 0 ? '+' : ''}${vsRandom.diff.toFixed(1)} ± ${vsRandom.se.toFixed(1)} points (paired s.e.)`;
    verdicts.push(line);
  }
}

console.log(
  `\n| features | dim | probe accuracy ± s.e. (${probe.score.labels.length} scored) |\n| --- | --- | --- |`,
);
for (const r of rows)
  console.log(`| ${r.name} | ${r.dim} | ${pct(r.accuracy)}% ± ${stdErr(r.accuracy).toFixed(1)} |`);
for (const line of verdicts) console.log(line);
for (const [method, s] of Object.entries(seconds)) console.log(`${method} pretraining: ${s.toFixed(0)} s`);
console.log(`wall time ${elapsed()}`);
tf.dispose(initialWeights as Tensor[]);
