import type { Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import { Rng } from '../rng.ts';
import { readTidy } from './host.ts';
import { assertMatrix } from './validate.ts';

export interface KMeansOptions {
  k: number;
  /** Lloyd iterations per run at most (the original: kmeans_max_iter = 100). */
  maxIter?: number;
  /** Stop when the squared centroid shift falls below tol x mean feature variance (scikit-learn's rule); 0 = never. */
  tol?: number;
  /** Independent runs; the one with the lowest inertia wins (the original: n_init = 3). */
  nInit?: number;
  /**
   * k-means++ runs on a random subset of this many rows, as scikit-learn's MiniBatchKMeans (which the original used) does with
   * init_size; Lloyd iterations then use every row. Default max(3k, 3072), capped at the number of rows.
   */
  initSampleSize?: number;
  /** Explicit initial centroids, k x d row-major (skips k-means++; nInit is then 1). */
  init?: Float32Array;
  /** Standard deviation of the noise added to a repaired empty cluster's borrowed centroid (the original: 0.1). */
  emptyClusterNoise?: number;
  /**
   * Called after every Lloyd iteration, synchronously: long fits block the event loop, so a caller that must show
   * signs of life (an activity heartbeat) does it from here.
   */
  onIteration?: (progress: { run: number; iteration: number }) => void;
}

export interface KMeansState {
  centroids: number[][];
}

export interface KMeansFit {
  model: KMeans;
  /** Nearest-centroid label of every row, after the last update and any empty-cluster repair. */
  labels: Int32Array;
  /** Sum of squared distances of rows to their centroid. */
  inertia: number;
  /** Lloyd iterations of the winning run. */
  iterations: number;
  /** Empty clusters re-seeded during the winning run. */
  emptyClustersRepaired: number;
}

/** Rows per chunk when assigning, so the [rows, k] distance block stays near 64 MB. */
const ASSIGN_BLOCK_FLOATS = 16 * 1024 * 1024;
/** k-means++ samples up to this many rows use a precomputed Gram matrix (64 MB at 4096). */
const GRAM_MAX_ROWS = 4096;

export class KMeans {
  private constructor(
    readonly centroids: Float32Array,
    readonly k: number,
    readonly dim: number,
  ) {}

  /** Fits with k-means++ seeding and Lloyd iterations (distances by matmul on the active backend). */
  static fit(x: Tensor2D, options: KMeansOptions, rng: Rng): KMeansFit {
    assertMatrix('KMeans.fit', x, 1);
    const [n, d] = x.shape;
    const { k } = options;
    if (!Number.isInteger(k) || k < 1 || k > n) {
      throw new Error(`KMeans.fit: k must be an integer in 1..rows (${n}), got ${k}`);
    }
    const maxIter = positiveInteger('maxIter', options.maxIter ?? 100);
    const nInit = positiveInteger('nInit', options.nInit ?? 3);
    const initSampleSize = Math.min(n, positiveInteger('initSampleSize', options.initSampleSize ?? Math.max(3 * k, 3072)));
    const tol = options.tol ?? 1e-4;
    if (!(tol >= 0)) throw new Error(`KMeans.fit: tol must be >= 0, got ${tol}`);
    const noise = options.emptyClusterNoise ?? 0.1;

    const tf = activeTf();
    const shiftLimit = tol > 0 ? tol * readTidy(() => tf.mean(tf.moments(x, 0).variance))[0]! : 0;
    if (options.init && options.init.length !== k * d) {
      throw new Error(`KMeans.fit: init must hold k x d = ${k * d} values, got ${options.init.length}`);
    }
    let best: KMeansFit | undefined;
    for (let run = 0; run < (options.init ? 1 : nInit); run++) {
      const init = options.init ?? kMeansPlusPlus(x, k, initSampleSize, rng);
      const onIteration = options.onIteration ? (iteration: number) => options.onIteration!({ run, iteration }) : undefined;
      const result = lloyd(x, init, { k, d, n, maxIter, shiftLimit, noise, onIteration }, rng);
      if (!best || result.inertia < best.inertia) best = result;
    }
    return best!;
  }

  static fromJSON(state: KMeansState): KMeans {
    const rows = state?.centroids;
    const dim = rows?.[0]?.length;
    if (!Array.isArray(rows) || !dim || rows.some((r) => r.length !== dim)) {
      throw new Error('KMeans.fromJSON: expected { centroids: number[k][d] } with k, d >= 1');
    }
    return new KMeans(Float32Array.from(rows.flat()), rows.length, dim);
  }

  toJSON(): KMeansState {
    const centroids: number[][] = [];
    for (let c = 0; c < this.k; c++) centroids.push(Array.from(this.centroids.subarray(c * this.dim, (c + 1) * this.dim)));
    return { centroids };
  }

  /** Index of the nearest centroid for each row. */
  predict(x: Tensor2D): Int32Array {
    assertMatrix('KMeans.predict', x, 1, this.dim);
    const tf = activeTf();
    const c = tf.tensor2d(this.centroids, [this.k, this.dim]);
    const { labels } = assign(x, c, false);
    c.dispose();
    const out = labels.dataSync() as Int32Array;
    labels.dispose();
    return out;
  }
}

/**
 * A uniform random subset of m of the row indices 0..n-1 (partial Fisher-Yates), in draw order. Only the swapped
 * positions are remembered, so memory follows m, not n: a bounded sample of a huge source stays small.
 */
export function sampleRows(n: number, m: number, rng: Rng): Int32Array {
  const swapped = new Map<number, number>();
  const at = (i: number) => swapped.get(i) ?? i;
  const picks = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const j = rng.integer(i, n);
    picks[i] = at(j);
    swapped.set(j, at(i));
  }
  return picks;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`KMeans.fit: ${name} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Labels (and optionally squared distances) of rows to centroids, via ||x||^2 - 2 x.c + ||c||^2, in row blocks.
 * The ||x||^2 term does not change the argmin, so it is only added when distances are wanted.
 */
function assign(x: Tensor2D, centroids: Tensor2D, withDistance: boolean): { labels: Tensor1D; inertia: number } {
  const tf = activeTf();
  const [n] = x.shape;
  const k = centroids.shape[0];
  const block = Math.max(1, Math.floor(ASSIGN_BLOCK_FLOATS / k));
  const cNorm = tf.tidy(() => tf.sum(tf.square(centroids), 1));
  const minusTwoC = tf.mul(centroids, -2);
  const parts: Tensor1D[] = [];
  let inertia = 0;
  for (let start = 0; start < n; start += block) {
    const rows = Math.min(block, n - start);
    const [labels, sum] = tf.tidy(() => {
      const xs = rows === n ? x : tf.slice(x, [start, 0], [rows, -1]);
      // One fused op: x.(-2c) + ||c||^2, the row's squared distances minus ||x||^2.
      const partial = tf.fused.matMul({ a: xs, b: minusTwoC, transposeB: true, bias: cNorm });
      const labels = tf.argMin(partial, 1) as Tensor1D;
      if (!withDistance) return [labels, null];
      const nearest = tf.add(tf.min(partial, 1), tf.sum(tf.square(xs), 1));
      return [labels, tf.sum(tf.relu(nearest))]; // relu: round-off can make a tiny distance negative
    });
    if (sum) {
      inertia += sum.dataSync()[0]!;
      sum.dispose();
    }
    parts.push(labels as Tensor1D);
  }
  cNorm.dispose();
  minusTwoC.dispose();
  if (parts.length === 1) return { labels: parts[0]!, inertia };
  const labels = tf.concat(parts) as Tensor1D;
  for (const p of parts) p.dispose();
  return { labels, inertia };
}

/**
 * Greedy k-means++ (Arthur & Vassilvitskii; the variant scikit-learn uses) on a random subset of rows: each new centre
 * is the best of 2 + ln(k) candidates drawn in proportion to squared distance, which avoids most of plain k-means++'s
 * bad seedings. Candidate distances are one matmul per centre on the active backend. Returns k x d centroids.
 */
function kMeansPlusPlus(x: Tensor2D, k: number, sampleSize: number, rng: Rng): Float32Array {
  const tf = activeTf();
  const [n, d] = x.shape;
  const m = sampleSize;
  let sampleTensor: Tensor2D;
  if (m >= n) {
    sampleTensor = tf.clone(x);
  } else {
    const picks = sampleRows(n, m, rng);
    sampleTensor = tf.tidy(() => tf.gather(x, tf.tensor1d(picks, 'int32')));
  }
  const sample = sampleTensor.dataSync() as Float32Array;
  const norms = readTidy(() => tf.sum(tf.square(sampleTensor), 1));
  const trials = 2 + Math.floor(Math.log(k));
  const centroids = new Float32Array(k * d);
  const closest = new Float64Array(m);
  // Squared distances from every sample row to each candidate row, [m, candidates.length] row-major. Small samples
  // (the default) precompute the Gram matrix once: thin per-step matmuls cost ~5 ms each on the native backend.
  const gram = m <= GRAM_MAX_ROWS ? readTidy(() => tf.matMul(sampleTensor, sampleTensor, false, true)) : null;
  const distancesTo = (candidates: number[]): Float64Array => {
    const width = candidates.length;
    let dotAt: (i: number, t: number) => number;
    if (gram) {
      dotAt = (i, t) => gram[candidates[t]! * m + i]!; // symmetric: read the candidate's row, contiguous
    } else {
      const rows = new Float32Array(width * d);
      candidates.forEach((c, t) => rows.set(sample.subarray(c * d, (c + 1) * d), t * d));
      const block = readTidy(() => tf.matMul(sampleTensor, tf.tensor2d(rows, [width, d]), false, true));
      dotAt = (i, t) => block[i * width + t]!;
    }
    const out = new Float64Array(m * width);
    for (let t = 0; t < width; t++) {
      const cn = norms[candidates[t]!]!;
      for (let i = 0; i < m; i++) out[i * width + t] = Math.max(0, norms[i]! - 2 * dotAt(i, t) + cn);
    }
    return out;
  };
  try {
    const first = rng.integer(0, m);
    centroids.set(sample.subarray(first * d, (first + 1) * d), 0);
    closest.set(distancesTo([first]));
    let potential = closest.reduce((a, b) => a + b, 0);
    for (let c = 1; c < k; c++) {
      // All remaining rows coincide with a centre: any row is as good as another.
      const candidates = Array.from({ length: trials }, () =>
        potential > 0 ? rng.weightedIndex(closest, potential) : rng.integer(0, m),
      );
      const dist = distancesTo(candidates);
      let bestTrial = 0;
      let bestPotential = Infinity;
      for (let t = 0; t < trials; t++) {
        let p = 0;
        for (let i = 0; i < m; i++) p += Math.min(closest[i]!, dist[i * trials + t]!);
        if (p < bestPotential) {
          bestPotential = p;
          bestTrial = t;
        }
      }
      const chosen = candidates[bestTrial]!;
      centroids.set(sample.subarray(chosen * d, (chosen + 1) * d), c * d);
      for (let i = 0; i < m; i++) closest[i] = Math.min(closest[i]!, dist[i * trials + bestTrial]!);
      potential = bestPotential;
    }
    return centroids;
  } finally {
    sampleTensor.dispose();
  }
}

interface LloydConfig {
  k: number;
  d: number;
  n: number;
  maxIter: number;
  shiftLimit: number;
  noise: number;
  onIteration?: (iteration: number) => void;
}

function lloyd(x: Tensor2D, init: Float32Array, cfg: LloydConfig, rng: Rng): KMeansFit {
  const tf = activeTf();
  const { k, d, n } = cfg;
  let centroids = tf.tensor2d(init, [k, d]);
  const ones = tf.ones([n]);
  let iterations = 0;
  let repaired = 0;
  let previous: Tensor1D | undefined;
  try {
    for (let iter = 0; iter < cfg.maxIter; iter++) {
      const { labels } = assign(x, centroids, false);
      // Converged exactly: no row changed cluster since the last update (scikit-learn stops here too).
      const unchanged = previous !== undefined && tf.tidy(() => tf.all(tf.equal(labels, previous!)).dataSync()[0] === 1);
      previous?.dispose();
      previous = labels;
      if (unchanged) break;
      iterations++;
      const [sums, counts] = tf.tidy(() => [
        tf.unsortedSegmentSum(x, labels, k),
        tf.unsortedSegmentSum(ones, labels, k),
      ]);
      const countsHost = counts.dataSync();
      const empty: number[] = [];
      for (let c = 0; c < k; c++) if (countsHost[c] === 0) empty.push(c);
      let next = tf.tidy(() => tf.div(sums, tf.expandDims(tf.maximum(counts, 1), 1)) as Tensor2D);
      if (empty.length > 0) {
        const repairedNext = repairEmptyClusters(next.dataSync() as Float32Array, empty, labels.dataSync(), d, cfg.noise, rng);
        next.dispose();
        next = tf.tensor2d(repairedNext, [k, d]);
        repaired += empty.length;
      }
      sums.dispose();
      counts.dispose();
      const shift = cfg.shiftLimit > 0 ? readTidy(() => tf.sum(tf.squaredDifference(next, centroids)))[0]! : Infinity;
      centroids.dispose();
      centroids = next;
      cfg.onIteration?.(iterations);
      if (shift <= cfg.shiftLimit) break;
    }
    // Final labels come from nearest-centroid prediction against the final centroids.
    let { labels, inertia } = assign(x, centroids, true);
    let labelsHost = labels.dataSync() as Int32Array;
    labels.dispose();
    let centroidsHost = centroids.dataSync() as Float32Array;
    const counts = new Int32Array(k);
    for (const l of labelsHost) counts[l]!++;
    const empty = [...counts.keys()].filter((c) => counts[c] === 0);
    if (empty.length > 0) {
      centroidsHost = repairEmptyClusters(centroidsHost.slice(), empty, labelsHost, d, cfg.noise, rng);
      repaired += empty.length;
      centroids.dispose();
      centroids = tf.tensor2d(centroidsHost, [k, d]);
      ({ labels, inertia } = assign(x, centroids, true));
      labelsHost = labels.dataSync() as Int32Array;
      labels.dispose();
    }
    return {
      model: KMeans.fromJSON(toRows(centroidsHost, k, d)),
      labels: labelsHost,
      inertia,
      iterations,
      emptyClustersRepaired: repaired,
    };
  } finally {
    previous?.dispose();
    centroids.dispose();
    ones.dispose();
  }
}

function toRows(flat: Float32Array, k: number, d: number): KMeansState {
  const centroids: number[][] = [];
  for (let c = 0; c < k; c++) centroids.push(Array.from(flat.subarray(c * d, (c + 1) * d)));
  return { centroids };
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
