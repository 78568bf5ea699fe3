// Downstream monitoring, as the original's: how well a linear classifier on globally average-pooled FCN features
// predicts a small labelled set.
//
// - Split: labels in insertion order (a plain object's key order, or the order of the given pairs); item i is a test
//   item when i % 3 === 0 and a training item otherwise (the original's deterministic 2:1 split).
// - Features: FCN output averaged over H and W ([n, C]); the caller loads the images (no augmentation, as the
//   original) because ml/ does no I/O.
// - Classifier: features standardised with the training set's mean and standard deviation (as StandardScaler), then
//   a *multinomial* softmax regression with L2 penalty alpha/2 * |W|^2 (alpha 1e-4, as SGDClassifier's default),
//   fitted full-batch from zero weights with Adam, so it is deterministic. The original used SGDClassifier(loss="log"),
//   i.e. one-vs-rest logistic regressions for more than two classes.
// - Confusion matrix: rows = true label, columns = predicted, labels sorted (numerically when all are numbers,
//   otherwise as strings), divided by its maximum; also as a grey RGB image, upscaled nearest-neighbour.
import type { LayersModel, Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import { featuresInChunks } from './chunked-features.ts';

export type Label = string | number;

/** i % 3 === 0 -> test, else train, in insertion order. */
export function splitLabels<L = Label>(labels: Record<string, L> | Iterable<readonly [string, L]>): {
  train: Array<[string, L]>;
  test: Array<[string, L]>;
} {
  const pairs: Array<[string, L]> =
    Symbol.iterator in Object(labels)
      ? Array.from(labels as Iterable<readonly [string, L]>, ([k, v]) => [k, v])
      : Object.entries(labels as Record<string, L>);
  const train: Array<[string, L]> = [];
  const test: Array<[string, L]> = [];
  pairs.forEach((pair, i) => (i % 3 === 0 ? test : train).push(pair));
  return { train, test };
}

/** Global-average-pooled FCN features of [n, H, W, C] images, [n * D] row-major, computed `chunk` images at a time. */
export async function pooledFeatures(
  fcn: LayersModel,
  images: Float32Array,
  shape: [number, number, number, number],
  chunk = 32,
): Promise<{ features: Float32Array; dim: number }> {
  const tf = activeTf();
  return featuresInChunks(images, shape, chunk, (x) => tf.mean(fcn.predict(x) as Tensor, [1, 2]));
}

export function sortLabels(labels: Iterable<Label>): Label[] {
  const unique = Array.from(new Set(labels));
  return unique.every((l) => typeof l === 'number')
    ? (unique as number[]).sort((a, b) => a - b)
    : unique.sort((a, b) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
}

/** Counts[t][p] of true label t predicted as p, over `labels` (default: every label seen, sorted). */
export function confusionMatrix(
  truth: readonly Label[],
  predicted: readonly Label[],
  labels?: Label[],
): { labels: Label[]; counts: number[][] } {
  if (truth.length !== predicted.length)
    throw new Error(`confusionMatrix: ${truth.length} true labels but ${predicted.length} predictions`);
  const order = labels ?? sortLabels([...truth, ...predicted]);
  const index = new Map(order.map((l, i) => [l, i]));
  const counts = order.map(() => new Array<number>(order.length).fill(0));
  truth.forEach((t, i) => {
    const row = index.get(t);
    const col = index.get(predicted[i]!);
    if (row === undefined || col === undefined)
      throw new Error(
        `confusionMatrix: label ${String(row === undefined ? t : predicted[i])} is not in the label list`,
      );
    counts[row]![col]!++;
  });
  return { labels: order, counts };
}

/** The matrix divided by its maximum (all zeros stays zeros). */
export function normalizeByMax(matrix: number[][]): number[][] {
  const max = Math.max(0, ...matrix.flat());
  return matrix.map((row) => row.map((v) => (max > 0 ? v / max : 0)));
}

/**
 * An n x n matrix of values in [0, 1] as a grey RGB image, each cell a `cell` x `cell` square (default: the largest
 * size that keeps the image within 256 px, at least 8 px, so small matrices are visible).
 */
export function matrixImage(
  matrix: number[][],
  cell?: number,
): { data: Uint8Array; shape: [number, number, 3]; cell: number } {
  const n = matrix.length;
  const size = cell ?? Math.max(8, Math.floor(256 / Math.max(n, 1)));
  const side = n * size;
  const data = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const v = Math.round(
        Math.min(1, Math.max(0, matrix[Math.floor(y / size)]![Math.floor(x / size)]!)) * 255,
      );
      data.fill(v, (y * side + x) * 3, (y * side + x) * 3 + 3);
    }
  }
  return { data, shape: [side, side, 3], cell: size };
}

export interface LinearProbeOptions {
  /** L2 penalty (SGDClassifier's default 1e-4). */
  alpha?: number;
  /** Full-batch Adam iterations. */
  maxIter?: number;
  learningRate?: number;
}

export interface FeatureSet {
  /** [n * dim] row-major. */
  features: Float32Array;
  labels: Label[];
}

export interface LinearProbeResult {
  accuracy: number;
  labels: Label[];
  predictions: Label[];
  /** Counts, rows = true, columns = predicted. */
  counts: number[][];
  /** Counts divided by their maximum. */
  confusion: number[][];
  image: { data: Uint8Array; shape: [number, number, 3] };
}

/** Fits the multinomial classifier on `train` and scores it on `test` (see the file comment). */
export async function linearProbe(
  train: FeatureSet,
  test: FeatureSet,
  dim: number,
  options: LinearProbeOptions = {},
): Promise<LinearProbeResult> {
  const tf = activeTf();
  const { alpha = 1e-4, maxIter = 300, learningRate = 0.05 } = options;
  const nTrain = train.labels.length;
  const nTest = test.labels.length;
  if (nTrain === 0 || nTest === 0)
    throw new Error(`linear probe: need training and test items, got ${nTrain} and ${nTest}`);
  if (train.features.length !== nTrain * dim || test.features.length !== nTest * dim) {
    throw new Error(`linear probe: features do not match labels x dim (${dim})`);
  }
  const labels = sortLabels([...train.labels, ...test.labels]);
  const index = new Map(labels.map((l, i) => [l, i]));
  const k = labels.length;

  // StandardScaler on the training features (a zero standard deviation is treated as 1, as scikit-learn does).
  const mean = new Float64Array(dim);
  const std = new Float64Array(dim);
  for (let i = 0; i < nTrain; i++)
    for (let d = 0; d < dim; d++) mean[d]! += train.features[i * dim + d]! / nTrain;
  for (let i = 0; i < nTrain; i++)
    for (let d = 0; d < dim; d++) std[d]! += (train.features[i * dim + d]! - mean[d]!) ** 2 / nTrain;
  for (let d = 0; d < dim; d++) std[d] = std[d]! > 0 ? Math.sqrt(std[d]!) : 1;
  const scale = (f: Float32Array, n: number) => {
    const out = new Float32Array(n * dim);
    for (let i = 0; i < n; i++)
      for (let d = 0; d < dim; d++) out[i * dim + d] = (f[i * dim + d]! - mean[d]!) / std[d]!;
    return out;
  };

  const weights = tf.variable(tf.zeros([dim, k])) as Variable;
  const bias = tf.variable(tf.zeros([k])) as Variable;
  const optimizer = tf.train.adam(learningRate);
  const xTrain = tf.tensor2d(scale(train.features, nTrain), [nTrain, dim]);
  const yTrain = tf.oneHot(
    tf.tensor1d(
      train.labels.map((l) => index.get(l)!),
      'int32',
    ),
    k,
  );
  for (let it = 0; it < maxIter; it++) {
    tf.tidy(() => {
      optimizer.minimize(
        () => {
          const logits = tf.add(tf.matMul(xTrain, weights), bias);
          const ce = tf.losses.softmaxCrossEntropy(yTrain, logits);
          return tf.add(ce, tf.mul(alpha / 2, tf.sum(tf.square(weights)))) as Scalar;
        },
        false,
        [weights, bias],
      );
    });
  }
  const predictedIndex = tf.tidy(() =>
    tf.argMax(tf.add(tf.matMul(tf.tensor2d(scale(test.features, nTest), [nTest, dim]), weights), bias), 1),
  );
  const predictions = Array.from(await predictedIndex.data(), (i) => labels[i]!);
  tf.dispose([predictedIndex, weights, bias, xTrain, yTrain]);
  optimizer.dispose();

  const correct = predictions.filter((p, i) => p === test.labels[i]).length;
  const { counts } = confusionMatrix(test.labels, predictions, labels);
  const confusion = normalizeByMax(counts);
  const { data, shape } = matrixImage(confusion);
  return { accuracy: correct / nTest, labels, predictions, counts, confusion, image: { data, shape } };
}

/** What to log after a probe: the original's scalar and image tags, plus the hparams with that metric. */
export function linearProbeReport(
  result: LinearProbeResult,
  hparams: Record<string, string | number | boolean>,
) {
  return {
    scalars: { linear_classification_accuracy: result.accuracy },
    images: { linear_classification_confusion_matrix: result.image },
    hparams,
    metrics: { linear_classification_accuracy: result.accuracy },
  };
}
