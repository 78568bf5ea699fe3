import type { Tensor2D } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import type { Rng } from '../rng.ts';
import { KMeans, type KMeansOptions, type KMeansState } from './kmeans.ts';
import { Pca, type PcaState } from './pca.ts';
import { l2NormalizeRows, StandardScaler, type StandardScalerState } from './scaler.ts';

export interface ClusterFeaturesOptions extends KMeansOptions {
  /** PCA output size (reference: pca_dim = 256); capped at the feature dimension. */
  pcaDim: number;
}

export interface ClusterFeaturesResult {
  labels: Int32Array;
  inertia: number;
  iterations: number;
  emptyClustersRepaired: number;
  /** Everything needed to assign new rows (e.g. test features) the same way; plain JSON. */
  state: { scaler: StandardScalerState; pca: PcaState; kmeans: KMeansState };
}

/** DeepCluster's clustering step (reference section 5): z-score, whitened PCA, L2-normalise rows, k-means. */
export function clusterFeatures(features: Tensor2D, options: ClusterFeaturesOptions, rng: Rng): ClusterFeaturesResult {
  const tf = activeTf();
  const scaler = StandardScaler.fit(features);
  const scaled = scaler.transform(features);
  const pca = Pca.fit(scaled, { nComponents: Math.min(options.pcaDim, ...scaled.shape), whiten: true });
  const reduced = tf.tidy(() => l2NormalizeRows(pca.transform(scaled)));
  scaled.dispose();
  try {
    const fit = KMeans.fit(reduced, options, rng);
    return {
      labels: fit.labels,
      inertia: fit.inertia,
      iterations: fit.iterations,
      emptyClustersRepaired: fit.emptyClustersRepaired,
      state: { scaler: scaler.toJSON(), pca: pca.toJSON(), kmeans: fit.model.toJSON() },
    };
  } finally {
    reduced.dispose();
  }
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
