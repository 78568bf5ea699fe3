// Nearest-centroid assignment in row blocks small enough that a block's [rows, k] distances stay in cache: one large
// distance matrix written to memory and read back by argMin cost about twice as much as blocks of ~2 MB.
import type { Tensor, Tensor1D, Tensor2D } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';

/** Distances per block: ~2 MB of float32. */
const BLOCK_FLOATS = 512 * 1024;
const MIN_BLOCK_ROWS = 256;

export function blockRows(k: number): number {
  return Math.max(MIN_BLOCK_ROWS, Math.floor(BLOCK_FLOATS / k));
}

/** The centroid terms of ||x||^2 - 2 x.c + ||c||^2, computed once per set of centroids. */
export interface CentroidTerms {
  k: number;
  minusTwoC: Tensor2D;
  norms: Tensor1D;
  dispose(): void;
}

export function centroidTerms(centroids: Tensor2D): CentroidTerms {
  const tf = activeTf();
  const norms = tf.tidy(() => tf.sum(tf.square(centroids), 1) as Tensor1D);
  const minusTwoC = tf.mul(centroids, -2) as Tensor2D;
  return { k: centroids.shape[0], minusTwoC, norms, dispose: () => tf.dispose([norms, minusTwoC]) };
}

/**
 * Calls `visit` with each row block of x, its distances minus ||x||^2 ([rows, k], one fused op) and its labels, inside
 * a tidy: tensors `visit` returns are kept, the rest freed.
 */
export function forEachBlock<T extends Tensor | void>(
  x: Tensor2D,
  terms: CentroidTerms,
  visit: (block: { xs: Tensor2D; partial: Tensor2D; labels: Tensor1D; start: number }) => T,
): T[] {
  const tf = activeTf();
  const [n] = x.shape;
  const block = blockRows(terms.k);
  const out: T[] = [];
  for (let start = 0; start < n; start += block) {
    const rows = Math.min(block, n - start);
    out.push(
      tf.tidy(() => {
        const xs = rows === n ? x : (tf.slice(x, [start, 0], [rows, -1]) as Tensor2D);
        const partial = tf.fused.matMul({ a: xs, b: terms.minusTwoC, transposeB: true, bias: terms.norms }) as Tensor2D;
        return visit({ xs, partial, labels: tf.argMin(partial, 1) as Tensor1D, start });
      }) as T,
    );
  }
  return out;
}

/** Labels of rows to centroids and, when asked, the sum of squared distances to them (inertia). */
export function assign(x: Tensor2D, centroids: Tensor2D, withDistance: boolean): { labels: Int32Array; inertia: number } {
  const tf = activeTf();
  const terms = centroidTerms(centroids);
  const labels = new Int32Array(x.shape[0]);
  let inertia = 0;
  try {
    forEachBlock(x, terms, ({ xs, partial, labels: blockLabels, start }) => {
      labels.set(blockLabels.dataSync() as Int32Array, start);
      if (withDistance) {
        // The ||x||^2 term does not move the argmin, so it is added only here; relu: round-off can go below 0.
        inertia += tf.sum(tf.relu(tf.add(tf.min(partial, 1), tf.sum(tf.square(xs), 1)))).dataSync()[0]!;
      }
    });
  } finally {
    terms.dispose();
  }
  return { labels, inertia };
}
