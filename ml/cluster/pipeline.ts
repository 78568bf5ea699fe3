import type { Tensor2D } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import type { Rng } from '../rng.ts';
import { KMeans, sampleRows, type KMeansOptions, type KMeansState } from './kmeans.ts';
import { Pca, type PcaState } from './pca.ts';
import { l2NormalizeRows, StandardScaler, type StandardScalerState } from './scaler.ts';

export interface ClusterFeaturesOptions extends KMeansOptions {
  /** PCA output size (the original: pca_dim = 256); capped at the feature dimension. */
  pcaDim: number;
  /**
   * The scaler, PCA and k-means are fitted on at most this many rows per cluster (a seeded random subset), then every
   * row is assigned in blocks, so memory and time of a refit stop growing with the source. faiss does the same
   * (max_points_per_centroid = 256). Default 256.
   */
  maxRowsPerCluster?: number;
}

export interface ClusterFeaturesResult {
  labels: Int32Array;
  inertia: number;
  iterations: number;
  emptyClustersRepaired: number;
  /** Everything needed to assign new rows (e.g. test features) the same way; plain JSON. */
  state: { scaler: StandardScalerState; pca: PcaState; kmeans: KMeansState };
}

type SampleFit = Omit<ClusterFeaturesResult, 'labels'> & { sampleLabels: Int32Array };

/** DeepCluster's clustering step: z-score, whitened PCA, L2-normalise rows, k-means. */
export function clusterFeatures(features: Tensor2D, options: ClusterFeaturesOptions, rng: Rng): ClusterFeaturesResult {
  const tf = activeTf();
  const n = features.shape[0];
  const trainRows = sampleSize(n, options);
  if (trainRows === n) {
    const { sampleLabels, ...fit } = fitOnSample(features, options, rng);
    return { ...fit, labels: sampleLabels };
  }
  const sample = tf.tidy(() => tf.gather(features, tf.tensor1d(sampleRows(n, trainRows, rng), 'int32')));
  let fit: SampleFit;
  try {
    fit = fitOnSample(sample, options, rng);
  } finally {
    sample.dispose();
  }
  const { sampleLabels: _, ...rest } = fit;
  return { ...rest, labels: assignFeatures(features, fit.state) };
}

/** Rows the scaler, PCA and k-means are fitted on for a source of `n` rows: k x maxRowsPerCluster at most. */
export function sampleSize(n: number, options: Pick<ClusterFeaturesOptions, 'k' | 'maxRowsPerCluster'>): number {
  const maxRowsPerCluster = options.maxRowsPerCluster ?? 256;
  if (!Number.isInteger(maxRowsPerCluster) || maxRowsPerCluster < 1) {
    throw new Error(`clusterFeatures: maxRowsPerCluster must be a positive integer, got ${maxRowsPerCluster}`);
  }
  return Math.min(n, options.k * maxRowsPerCluster);
}

/** Fits scaler, whitened PCA and k-means on `sample`; the labels are those of the sample's own rows. */
export function fitOnSample(sample: Tensor2D, options: ClusterFeaturesOptions, rng: Rng): SampleFit {
  const tf = activeTf();
  const scaler = StandardScaler.fit(sample);
  const scaled = scaler.transform(sample);
  let reduced: Tensor2D;
  let pca: Pca;
  try {
    pca = Pca.fit(scaled, { nComponents: Math.min(options.pcaDim, ...scaled.shape), whiten: true });
    reduced = tf.tidy(() => l2NormalizeRows(pca.transform(scaled)));
  } finally {
    scaled.dispose();
  }
  let fit;
  try {
    fit = KMeans.fit(reduced, options, rng);
  } finally {
    reduced.dispose();
  }
  return {
    sampleLabels: fit.labels,
    inertia: fit.inertia,
    iterations: fit.iterations,
    emptyClustersRepaired: fit.emptyClustersRepaired,
    state: { scaler: scaler.toJSON(), pca: pca.toJSON(), kmeans: fit.model.toJSON() },
  };
}

/** Labels for new rows with a fitted clusterFeatures state. */
export function assignFeatures(features: Tensor2D, state: ClusterFeaturesResult['state']): Int32Array {
  const tf = activeTf();
  const reduced = tf.tidy(() =>
    l2NormalizeRows(Pca.fromJSON(state.pca).transform(StandardScaler.fromJSON(state.scaler).transform(features))),
  );
  try {
    return KMeans.fromJSON(state.kmeans).predict(reduced);
  } finally {
    reduced.dispose();
  }
}
