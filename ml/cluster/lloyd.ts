// Lloyd iterations for KMeans.fit: each iteration assigns every row (one fused matmul and argMin per large row block)
// and moves the rows that changed cluster between per-cluster sums kept on the host.
import type { Tensor2D } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import type { Rng } from '../rng.ts';
import { assignBlocks, centroidTerms, rowBlocks, type CentroidTerms, type RowBlocks } from './assign.ts';

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
  const { k, d, n } = cfg;
  const blocks = rowBlocks(x, k);
  const sums = new ClusterSums(x.dataSync() as Float32Array, n, k, d);
  let centroidsHost = init;
  let centroids = tf.tensor2d(init, [k, d]);
  let iterations = 0;
  let repaired = 0;
  try {
    for (let iter = 0; iter < cfg.maxIter; iter++) {
      const labels = assignLabels(blocks, centroids, n);
      // Converged exactly: no row changed cluster since the last update (scikit-learn stops here too).
      if (sums.moveTo(labels) === 0 && iter > 0) break;
      iterations++;
      let next = sums.means();
      const empty = sums.emptyClusters();
      if (empty.length > 0) {
        next = repairEmptyClusters(next, empty, labels, d, cfg.noise, rng);
        repaired += empty.length;
      }
      const shift = cfg.shiftLimit > 0 ? squaredShift(next, centroidsHost) : Infinity;
      centroids.dispose();
      centroids = tf.tensor2d(next, [k, d]);
      centroidsHost = next;
      cfg.onIteration?.(iterations);
      if (shift <= cfg.shiftLimit) break;
    }
    // Final labels come from nearest-centroid prediction against the final centroids.
    let labels = new Int32Array(n);
    let inertia = withTerms(centroids, (terms) => assignBlocks(blocks, terms, labels, true));
    sums.moveTo(labels);
    const empty = sums.emptyClusters();
    if (empty.length > 0) {
      centroidsHost = repairEmptyClusters(centroidsHost.slice(), empty, labels, d, cfg.noise, rng);
      repaired += empty.length;
      centroids.dispose();
      centroids = tf.tensor2d(centroidsHost, [k, d]);
      labels = new Int32Array(n);
      inertia = withTerms(centroids, (terms) => assignBlocks(blocks, terms, labels, true));
    }
    return { centroids: centroidsHost, labels, inertia, iterations, emptyClustersRepaired: repaired };
  } finally {
    centroids.dispose();
    blocks.dispose();
  }
}

function withTerms<T>(centroids: Tensor2D, use: (terms: CentroidTerms) => T): T {
  const terms = centroidTerms(centroids);
  try {
    return use(terms);
  } finally {
    terms.dispose();
  }
}

function assignLabels(blocks: RowBlocks, centroids: Tensor2D, n: number): Int32Array {
  const labels = new Int32Array(n);
  withTerms(centroids, (terms) => assignBlocks(blocks, terms, labels, false));
  return labels;
}

/**
 * Per-cluster sums and counts of the rows, kept on the host in float64 and updated by the rows that changed cluster
 * only: after the first iterations few rows move, so an update costs a fraction of summing every row again.
 */
class ClusterSums {
  private readonly sums: Float64Array;
  private readonly counts: Int32Array;
  private labels: Int32Array;

  constructor(
    private readonly rows: Float32Array,
    n: number,
    private readonly k: number,
    private readonly d: number,
  ) {
    this.sums = new Float64Array(k * d);
    this.counts = new Int32Array(k);
    this.labels = new Int32Array(n).fill(-1);
  }

  /** Moves every row to its new cluster; returns how many rows changed cluster. */
  moveTo(labels: Int32Array): number {
    const { rows, sums, counts, d } = this;
    let changed = 0;
    for (let i = 0; i < labels.length; i++) {
      const from = this.labels[i]!;
      const to = labels[i]!;
      if (from === to) continue;
      changed++;
      if (from >= 0) {
        addRow(sums, from * d, rows, i * d, d, -1);
        counts[from]!--;
      }
      addRow(sums, to * d, rows, i * d, d, 1);
      counts[to]!++;
    }
    this.labels = labels;
    return changed;
  }

  /** Mean of each cluster's rows (an empty cluster's is 0). */
  means(): Float32Array {
    const { sums, counts, k, d } = this;
    const out = new Float32Array(k * d);
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) continue;
      const scale = 1 / counts[c]!;
      for (let j = 0; j < d; j++) out[c * d + j] = sums[c * d + j]! * scale;
    }
    return out;
  }

  emptyClusters(): number[] {
    return [...this.counts.keys()].filter((c) => this.counts[c] === 0);
  }
}

/** sums[at..at+d) += sign * rows[row..row+d), unrolled by four (about twice as fast as the plain loop in V8). */
function addRow(sums: Float64Array, at: number, rows: Float32Array, row: number, d: number, sign: 1 | -1): void {
  const whole = d - (d % 4);
  let j = 0;
  for (; j < whole; j += 4) {
    sums[at + j]! += sign * rows[row + j]!;
    sums[at + j + 1]! += sign * rows[row + j + 1]!;
    sums[at + j + 2]! += sign * rows[row + j + 2]!;
    sums[at + j + 3]! += sign * rows[row + j + 3]!;
  }
  for (; j < d; j++) sums[at + j]! += sign * rows[row + j]!;
}

function squaredShift(a: Float32Array, b: Float32Array): number {
  let shift = 0;
  for (let i = 0; i < a.length; i++) shift += (a[i]! - b[i]!) ** 2;
  return shift;
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
