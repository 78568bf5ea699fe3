// Lloyd iterations for KMeans.fit: each iteration is one pass over row blocks that assigns the block and adds its rows
// into per-cluster sums while the block is still in cache, then one division for the new centroids.
import type { Tensor, Tensor2D } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import type { Rng } from '../rng.ts';
import { assign, centroidTerms, forEachBlock } from './assign.ts';
import { readTidy } from './host.ts';

export interface LloydConfig {
  k: number;
  d: number;
  n: number;
  maxIter: number;
  shiftLimit: number;
  noise: number;
  onIteration?: (iteration: number) => void;
}

export interface LloydResult {
  /** k x d, row-major. */
  centroids: Float32Array;
  labels: Int32Array;
  inertia: number;
  iterations: number;
  emptyClustersRepaired: number;
}

export function lloyd(x: Tensor2D, init: Float32Array, cfg: LloydConfig, rng: Rng): LloydResult {
  const tf = activeTf();
  const { k, d } = cfg;
  let centroids = tf.tensor2d(init, [k, d]);
  let iterations = 0;
  let repaired = 0;
  let previous: Int32Array | undefined;
  try {
    for (let iter = 0; iter < cfg.maxIter; iter++) {
      const { labels, sums } = assignAndSum(x, centroids, k);
      // Converged exactly: no row changed cluster since the last update (scikit-learn stops here too).
      const unchanged = previous !== undefined && sameLabels(labels, previous);
      previous = labels;
      if (unchanged) {
        sums.dispose();
        break;
      }
      iterations++;
      const counts = new Float32Array(k);
      for (const label of labels) counts[label]!++;
      const empty = [...counts.keys()].filter((c) => counts[c] === 0);
      let next = tf.tidy(() => tf.div(sums, tf.tensor2d(counts.map((c) => Math.max(c, 1)), [k, 1])) as Tensor2D);
      sums.dispose();
      if (empty.length > 0) {
        const repairedNext = repairEmptyClusters(next.dataSync() as Float32Array, empty, labels, d, cfg.noise, rng);
        next.dispose();
        next = tf.tensor2d(repairedNext, [k, d]);
        repaired += empty.length;
      }
      const shift = cfg.shiftLimit > 0 ? readTidy(() => tf.sum(tf.squaredDifference(next, centroids)))[0]! : Infinity;
      centroids.dispose();
      centroids = next;
      cfg.onIteration?.(iterations);
      if (shift <= cfg.shiftLimit) break;
    }
    // Final labels come from nearest-centroid prediction against the final centroids.
    let { labels, inertia } = assign(x, centroids, true);
    let centroidsHost = centroids.dataSync() as Float32Array;
    const counts = new Int32Array(k);
    for (const l of labels) counts[l]!++;
    const empty = [...counts.keys()].filter((c) => counts[c] === 0);
    if (empty.length > 0) {
      centroidsHost = repairEmptyClusters(centroidsHost.slice(), empty, labels, d, cfg.noise, rng);
      repaired += empty.length;
      centroids.dispose();
      centroids = tf.tensor2d(centroidsHost, [k, d]);
      ({ labels, inertia } = assign(x, centroids, true));
    }
    return { centroids: centroidsHost, labels, inertia, iterations, emptyClustersRepaired: repaired };
  } finally {
    centroids.dispose();
  }
}

/** Labels of every row and the per-cluster sums of the rows, in one pass over the row blocks. */
function assignAndSum(x: Tensor2D, centroids: Tensor2D, k: number): { labels: Int32Array; sums: Tensor2D } {
  const tf = activeTf();
  const terms = centroidTerms(centroids);
  const labels = new Int32Array(x.shape[0]);
  let parts: Tensor[] = [];
  try {
    parts = forEachBlock(x, terms, ({ xs, labels: blockLabels, start }) => {
      labels.set(blockLabels.dataSync() as Int32Array, start);
      return tf.unsortedSegmentSum(xs, blockLabels, k);
    });
    const sums = (parts.length === 1 ? parts.pop()! : tf.addN(parts)) as Tensor2D;
    return { labels, sums };
  } finally {
    tf.dispose(parts);
    terms.dispose();
  }
}

function sameLabels(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Reference rule: an empty cluster takes the centroid of a randomly chosen row's cluster (so a cluster is picked in
 * proportion to its size) plus N(0, noise^2) in every dimension.
 */
function repairEmptyClusters(
  centroids: Float32Array,
  empty: number[],
  labels: ArrayLike<number>,
  d: number,
  noise: number,
  rng: Rng,
): Float32Array {
  for (const c of empty) {
    const donor = labels[rng.integer(0, labels.length)]!;
    for (let j = 0; j < d; j++) centroids[c * d + j] = centroids[donor * d + j]! + rng.normal(0, noise);
  }
  return centroids;
}
