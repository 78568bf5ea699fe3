// Feature quality on Fashion-MNIST (issue 5): linear-probe accuracy of the features after a fixed short budget of
// DeepCluster and of IIC, against the same network with its starting (random) weights and against logistic
// regression on raw pixels. The features must beat both. A script, not a test; numbers go in BENCHMARKS.md.
//
// Usage: npm run bench:quality [-- --eval test|val --pretrain 6000 --labelled 3000 --epochs 5 --batch 64 --seed 5]
//
// - Pretraining images: the first `--pretrain` images of the train split, labels unused.
// - Probe images (`--labelled`, labels used only by the probe), split 2:1 by `splitLabels` (i % 3 === 0 -> test):
//   `--eval test` (the reported numbers): the first images of the dataset's own test split (t10k);
//   `--eval val` (for choosing settings): train-split images 54 000.. (never pretrained on, never the test split).
// - Images: 28x28 grey from the idx arrays, /255, bilinear-resized to 32x32, one channel (no Sobel, no PNG).
// - Network: smallResNet({ channels: 1, widths: [32, 64, 128, 256] }) (32x32 -> 2x2x256); probe features are its
//   output globally average-pooled (ml/eval/linear-probe.ts `pooledFeatures`), 256 dims, for every contender.
// - Starting weights: every kernel Glorot-uniform from ml/rng.ts (seed `--seed`), biases 0, BN gamma 1 / beta 0.
//   DeepCluster and IIC both start from exactly these FCN weights, and the "random weights" row is this FCN untrained.
// - Raw pixels: the 784 pixels in [0, 1], through our `linearProbe` and through scikit-learn's LogisticRegression
//   (lbfgs, C=1, after StandardScaler) in .tools/venv; the bar is the better of the two.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { LayersModel, SymbolicTensor, Tensor, Tensor2D } from '@tensorflow/tfjs';
import { initBackend } from '../../ml/backend.ts';
import { augmentImage, type AugmentParams, type Batch } from '../../ml/data/index.ts';
import { linearProbe, pooledFeatures, splitLabels, type Label } from '../../ml/eval/linear-probe.ts';
import { installNativeKernels } from '../../ml/kernels/native/index.ts';
import { createTrainer, DeepClusterTrainer, type Trainer } from '../../ml/methods/index.ts';
import { STREAM, derivedSeed, epochOrder, stepIndices } from '../../ml/methods/plan.ts';
import { smallResNet } from '../../ml/models/index.ts';
import { Rng } from '../../ml/rng.ts';
import { FASHION_MNIST_DIR, readIdxImages, readIdxLabels } from '../fashion-mnist.ts';

const { values } = parseArgs({
  options: {
    eval: { type: 'string', default: 'test' },
    pretrain: { type: 'string', default: '6000' },
    labelled: { type: 'string', default: '3000' },
    epochs: { type: 'string', default: '5' },
    batch: { type: 'string', default: '64' },
    seed: { type: 'string', default: '5' },
    size: { type: 'string', default: '32' },
    widths: { type: 'string', default: '32,64,128,256' },
    'dc-k': { type: 'string', default: '300' },
    'dc-lr': { type: 'string', default: '0.05' },
    'iic-lr': { type: 'string', default: '0.0005' },
    'iic-repeats': { type: 'string', default: '2' },
    'dc-head': { type: 'string', default: 'flatten' },
    only: { type: 'string', default: 'deepcluster,iic' },
  },
});
if (values.eval !== 'test' && values.eval !== 'val')
  throw new Error(`--eval must be test or val, got ${values.eval}`);
const nPretrain = Number(values.pretrain);
const nLabelled = Number(values.labelled);
const epochs = Number(values.epochs);
const batchSize = Number(values.batch);
const seed = Number(values.seed);
const size = Number(values.size);
const widths = values.widths!.split(',').map(Number);
const methods = values.only!.split(',');
const python = join(import.meta.dirname, '..', '..', '.tools', 'venv', 'bin', 'python');
const t0 = performance.now();
const elapsed = () => ((performance.now() - t0) / 1000).toFixed(0) + ' s';

const { tf, name: backend } = await initBackend({ purpose: 'train' });
installNativeKernels();

// --- data -----------------------------------------------------------------------------------------------------------
const VAL_START = 54000;
const trainImages = await readIdxImages(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
const trainLabels = await readIdxLabels(join(FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz'));
const probeSource =
  values.eval === 'test'
    ? {
        images: await readIdxImages(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'), nLabelled),
        labels: await readIdxLabels(join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz'), nLabelled),
        start: 0,
      }
    : { images: trainImages, labels: trainLabels, start: VAL_START };
if (nPretrain > VAL_START) throw new Error(`--pretrain must be <= ${VAL_START} (val images start there)`);
const PIXELS = 28 * 28;
const toFloat = (bytes: Uint8Array, start: number, count: number) =>
  Float32Array.from(bytes.subarray(start * PIXELS, (start + count) * PIXELS), (v) => v / 255);
const resized = (raw: Float32Array, count: number): Float32Array =>
  tf.tidy(() =>
    tf.image.resizeBilinear(tf.tensor4d(raw, [count, 28, 28, 1]), [size, size]).dataSync(),
  ) as Float32Array;
const pretrainRaw = toFloat(trainImages.data, 0, nPretrain);
const pretrain = resized(pretrainRaw, nPretrain);
const probeRaw = toFloat(probeSource.images.data, probeSource.start, nLabelled);
const probeImages = resized(probeRaw, nLabelled);
const probeLabels: Label[] = Array.from(
  probeSource.labels.subarray(probeSource.start, probeSource.start + nLabelled),
);
const split = splitLabels(probeLabels.map((l, i) => [String(i), l] as const));
const trainIdx = split.train.map(([k]) => Number(k));
const testIdx = split.test.map(([k]) => Number(k));
const imageSize = size * size;

// --- network and deterministic starting weights ----------------------------------------------------------------------
const inputShape: [number, number, number] = [size, size, 1];
const makeFcn = () => smallResNet({ channels: 1, widths });
/** Kernels Glorot-uniform from `rng` (Keras' default initializer, drawn from our seeded stream), biases zero. */
function seededInit(model: LayersModel, rng: Rng): void {
  const fresh = model.weights.map((w) => {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    if (w.name.includes('kernel') && shape.length >= 2) {
      const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
      const limit = Math.sqrt(6 / (receptive * (shape.at(-2)! + shape.at(-1)!)));
      return tf.tensor(rng.fillUniform(new Float32Array(n), -limit, limit) as Float32Array, shape);
    }
    return w.read().clone(); // BN gamma/beta/moving stats and biases keep their deterministic initial values
  });
  model.setWeights(fresh);
  tf.dispose(fresh);
}
const initialFcn = makeFcn();
seededInit(initialFcn, Rng.fromSeed(derivedSeed(seed, 100, 0)));
const initialWeights = initialFcn.getWeights().map((w) => w.clone());

// --- probes -------------------------------------------------------------------------------------------------------
async function probeFeatures(features: Float32Array, dim: number): Promise<number> {
  const pick = (idx: number[]) => {
    const out = new Float32Array(idx.length * dim);
    idx.forEach((i, r) => out.set(features.subarray(i * dim, (i + 1) * dim), r * dim));
    return { features: out, labels: idx.map((i) => probeLabels[i]!) };
  };
  return (await linearProbe(pick(trainIdx), pick(testIdx), dim)).accuracy;
}
async function probeFcn(fcn: LayersModel): Promise<{ accuracy: number; dim: number }> {
  const { features, dim } = await pooledFeatures(fcn, probeImages, [nLabelled, size, size, 1], 250);
  return { accuracy: await probeFeatures(features, dim), dim };
}

function sklearnRawPixels(): number {
  const dir = mkdtempSync(join(tmpdir(), 'patchwork-bench-quality-'));
  try {
    const gather = (idx: number[]) => {
      const out = new Float32Array(idx.length * PIXELS);
      idx.forEach((i, r) => out.set(probeRaw.subarray(i * PIXELS, (i + 1) * PIXELS), r * PIXELS));
      return out;
    };
    writeFileSync(join(dir, 'xtr.f32'), gather(trainIdx));
    writeFileSync(join(dir, 'xte.f32'), gather(testIdx));
    writeFileSync(
      join(dir, 'ytr.i32'),
      Int32Array.from(trainIdx, (i) => Number(probeLabels[i])),
    );
    writeFileSync(
      join(dir, 'yte.i32'),
      Int32Array.from(testIdx, (i) => Number(probeLabels[i])),
    );
    const script = String.raw`
import sys, numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
d = sys.argv[1]
xtr = np.fromfile(d + "/xtr.f32", dtype=np.float32).reshape(-1, 784)
xte = np.fromfile(d + "/xte.f32", dtype=np.float32).reshape(-1, 784)
ytr = np.fromfile(d + "/ytr.i32", dtype=np.int32)
yte = np.fromfile(d + "/yte.i32", dtype=np.int32)
s = StandardScaler().fit(xtr)
clf = LogisticRegression(max_iter=2000).fit(s.transform(xtr), ytr)
print(float((clf.predict(s.transform(xte)) == yte).mean()))
`;
    const out = execFileSync(python, ['-c', script, dir], { encoding: 'utf8' });
    return Number(out.trim().split('\n').pop());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- pretraining ----------------------------------------------------------------------------------------------------
const stepsPerEpoch = Math.floor(nPretrain / batchSize);
const keys = Array.from({ length: nPretrain }, (_, i) => String(i));
/** Augmentation for grey images (hue/saturation need RGB; Fashion-MNIST items are upright, so no up-down/rot90). */
const GREY_AUGMENT: AugmentParams = {
  max_brightness_delta: 0.2,
  contrast_min: 0.6,
  contrast_max: 1.4,
  max_hue_delta: 0,
  max_saturation_delta: 0,
  left_right_flip: true,
  up_down_flip: false,
  rot90: false,
  zoom_scale: 0.2,
  select_prob: 0.5,
};

function batchOf(indices: number[], augment: AugmentParams | null, step: number): Batch {
  const images = new Float32Array(indices.length * imageSize);
  const rng = Rng.fromSeed(derivedSeed(seed, STREAM.augment, step));
  indices.forEach((index, i) => {
    const src = Float32Array.from(pretrain.subarray(index * imageSize, (index + 1) * imageSize));
    const im = augment
      ? augmentImage({ data: src, height: size, width: size, channels: 1 }, augment, rng)
      : { data: src };
    images.set(im.data, i * imageSize);
  });
  return { images, shape: [indices.length, size, size, 1], keys: indices.map((i) => keys[i]!) };
}

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

function newTrainer(method: 'deepcluster' | 'iic'): Trainer {
  const base = makeFcn();
  const fcn = method === 'deepcluster' && values['dc-head'] === 'gap' ? pooledFcn(base) : base;
  const config =
    method === 'deepcluster'
      ? {
          k: Number(values['dc-k']),
          dense: [512],
          pca_dim: 64,
          kmeans_max_iter: 30,
          lr: Number(values['dc-lr']),
          lr_decay: 0,
        }
      : {
          k: 10,
          k_over: 50,
          num_sub_heads: 5,
          repeats: Number(values['iic-repeats']),
          lr: Number(values['iic-lr']),
          lr_decay: 0,
        };
  const trainer = createTrainer(method, {
    config,
    inputShape,
    fcn,
    rng: Rng.fromSeed(derivedSeed(seed, STREAM.trainer, 0)),
    augment: GREY_AUGMENT,
  });
  // Heads from the seeded stream too, then the shared starting FCN weights.
  seededInit(trainer.parts().models.model!, Rng.fromSeed(derivedSeed(seed, 101, 0)));
  base.setWeights(initialWeights);
  return trainer;
}

async function runDeepCluster(): Promise<{ fcn: LayersModel; log: string[] }> {
  const trainer = newTrainer('deepcluster') as DeepClusterTrainer;
  trainer.setFileList(keys);
  const log: string[] = [];
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const rows: Tensor2D[] = [];
    for (let start = 0; start < nPretrain; start += 500) {
      const idx = Array.from({ length: Math.min(500, nPretrain - start) }, (_, i) => start + i);
      rows.push(trainer.embedBatch(batchOf(idx, null, 0)));
    }
    const features = tf.concat(rows) as Tensor2D;
    tf.dispose(rows);
    const refit = trainer.refit(features, Rng.fromSeed(derivedSeed(seed, STREAM.refit, epoch)));
    features.dispose();
    trainer.resetHeadIfNeeded(epoch);
    const sample = trainer.epochSample(Rng.fromSeed(derivedSeed(seed, STREAM.epochOrder, epoch)));
    const order = epochOrder({ files: nPretrain, stepsPerEpoch, batchSize, seed, epoch, sample });
    let loss = 0;
    for (let s = 0; s < stepsPerEpoch; s++, step++) {
      loss += (await trainer.trainStep(batchOf(stepIndices(order, s, batchSize), GREY_AUGMENT, step), step))
        .loss!;
    }
    const line = `deepcluster epoch ${epoch}: nmi_prev ${refit.nmi.toFixed(3)}, empty ${refit.sizes.filter((n) => n === 0).length}, mean loss ${(loss / stepsPerEpoch).toFixed(3)} (${elapsed()})`;
    console.log(line);
    log.push(line);
  }
  return { fcn: trainer.featureExtractor(), log };
}

async function runIic(): Promise<{ fcn: LayersModel; log: string[] }> {
  const trainer = newTrainer('iic');
  const log: string[] = [];
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = epochOrder({ files: nPretrain, stepsPerEpoch, batchSize, seed, epoch });
    let loss = 0;
    let metrics: Record<string, number> = {};
    for (let s = 0; s < stepsPerEpoch; s++, step++) {
      // Unaugmented batches: view 2 is the trainer's own augmentation (GREY_AUGMENT) of each image.
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
  `backend ${backend}; eval ${values.eval}: ${trainIdx.length} probe-train / ${testIdx.length} probe-test images; ` +
    `pretrain ${nPretrain} images, ${epochs} epochs x ${stepsPerEpoch} steps of ${batchSize}; ${size}x${size}x1; smallResNet [${widths}]`,
);
const rows: Array<{ name: string; accuracy: number; dim: number; seconds: number }> = [];
const timed = async (name: string, f: () => Promise<{ accuracy: number; dim: number }>) => {
  const start = performance.now();
  const r = await f();
  rows.push({ name, ...r, seconds: (performance.now() - start) / 1000 });
  console.log(`${name}: ${(r.accuracy * 100).toFixed(1)}% (${elapsed()})`);
};
await timed('raw pixels, scikit-learn LogisticRegression', async () => ({
  accuracy: sklearnRawPixels(),
  dim: PIXELS,
}));
await timed('raw pixels, our linearProbe', async () => ({
  accuracy: await probeFeatures(probeRaw, PIXELS),
  dim: PIXELS,
}));
await timed('random weights (start of training)', () => probeFcn(initialFcn));
const trained: Record<string, number> = {};
for (const method of methods) {
  if (method !== 'deepcluster' && method !== 'iic') throw new Error(`--only: unknown method ${method}`);
  await timed(method === 'deepcluster' ? 'DeepCluster' : 'IIC', async () => {
    const { fcn } = method === 'deepcluster' ? await runDeepCluster() : await runIic();
    const r = await probeFcn(fcn);
    trained[method] = r.accuracy;
    return r;
  });
}

const rawBar = Math.max(rows[0]!.accuracy, rows[1]!.accuracy);
const randomBar = rows[2]!.accuracy;
console.log('\n| features | dim | probe accuracy | seconds |\n| --- | --- | --- | --- |');
for (const r of rows)
  console.log(`| ${r.name} | ${r.dim} | ${(r.accuracy * 100).toFixed(1)}% | ${r.seconds.toFixed(0)} |`);
for (const [method, accuracy] of Object.entries(trained)) {
  const ok = accuracy > rawBar && accuracy > randomBar;
  console.log(
    `verdict ${method}: ${ok ? 'PASS' : 'FAIL'} (${(accuracy * 100).toFixed(1)}% vs raw pixels ${(rawBar * 100).toFixed(1)}%, random weights ${(randomBar * 100).toFixed(1)}%)`,
  );
}
console.log(`wall time ${elapsed()}`);
tf.dispose(initialWeights as Tensor[]);
