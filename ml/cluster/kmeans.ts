import type { Tensor2D } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import { Rng } from '../rng.ts';
import { assign } from './assign.ts';
import { readTidy } from './host.ts';
import { lloyd } from './lloyd.ts';
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
      if (!best || result.inertia < best.inertia) {
        const { centroids, ...rest } = result;
        best = { ...rest, model: KMeans.fromJSON(toRows(centroids, k, d)) };
      }
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
    try {
      return assign(x, c, false).labels;
    } finally {
      c.dispose();
    }
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
 * Greedy k-means++ (Arthur & Vassilvitskii; the variant scikit-learn uses) on a random subset of rows: each new centre
 * is the best of 2 + ln(k) candidates drawn in proportion to squared distance, which avoids most of plain k-means++'s
 * bad seedings. Candidate distances come from the sample's Gram matrix (one matmul), or one matmul per centre for
 * samples too large for it. Returns k x d centroids.
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
  // Squared distances from every sample row to each candidate row, candidate after candidate ([candidates, m]). Small
  // samples (the default) precompute the Gram matrix once: thin per-step matmuls cost ~5 ms each on the native backend.
  const gram = m <= GRAM_MAX_ROWS ? readTidy(() => tf.matMul(sampleTensor, sampleTensor, false, true)) : null;
  /** Each candidate's distances to the sample rows and the potential (sum of min(closest, distance)) it would leave. */
  const distancesTo = (candidates: number[]): { distances: Float64Array; potentials: Float64Array } => {
    const width = candidates.length;
    const distances = new Float64Array(width * m);
    const potentials = new Float64Array(width);
    const block = gram
      ? null
      : readTidy(() => {
          const rows = new Float32Array(width * d);
          candidates.forEach((c, t) => rows.set(sample.subarray(c * d, (c + 1) * d), t * d));
          return tf.matMul(tf.tensor2d(rows, [width, d]), sampleTensor, false, true);
        });
    for (let t = 0; t < width; t++) {
      const c = candidates[t]!;
      // The Gram matrix is symmetric: the candidate's row is contiguous.
      const dots = gram ? gram.subarray(c * m, (c + 1) * m) : block!.subarray(t * m, (t + 1) * m);
      const cn = norms[c]!;
      const at = t * m;
      let potential = 0;
      for (let i = 0; i < m; i++) {
        const distance = Math.max(0, norms[i]! - 2 * dots[i]! + cn);
        distances[at + i] = distance;
        potential += Math.min(closest[i]!, distance);
      }
      potentials[t] = potential;
    }
    return { distances, potentials };
  };
  try {
    const first = rng.integer(0, m);
    centroids.set(sample.subarray(first * d, (first + 1) * d), 0);
    closest.set(distancesTo([first]).distances);
    let potential = closest.reduce((a, b) => a + b, 0);
    for (let c = 1; c < k; c++) {
      // All remaining rows coincide with a centre: any row is as good as another.
      const candidates = Array.from({ length: trials }, () =>
        potential > 0 ? rng.weightedIndex(closest, potential) : rng.integer(0, m),
      );
      const { distances, potentials } = distancesTo(candidates);
      let bestTrial = 0;
      for (let t = 1; t < trials; t++) if (potentials[t]! < potentials[bestTrial]!) bestTrial = t;
      const chosen = candidates[bestTrial]!;
      centroids.set(sample.subarray(chosen * d, (chosen + 1) * d), c * d);
      const at = bestTrial * m;
      for (let i = 0; i < m; i++) closest[i] = Math.min(closest[i]!, distances[at + i]!);
      potential = potentials[bestTrial]!;
    }
    return centroids;
  } finally {
    sampleTensor.dispose();
  }
}

function toRows(flat: Float32Array, k: number, d: number): KMeansState {
  const centroids: number[][] = [];
  for (let c = 0; c < k; c++) centroids.push(Array.from(flat.subarray(c * d, (c + 1) * d)));
  return { centroids };
}
