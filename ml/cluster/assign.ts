// Nearest-centroid assignment in row blocks: one matmul per block gives ||c||^2 - 2 x.c ([rows, k]) and argMin its
// labels. Rows carry an extra column of ones and centroids their squared norm in that column, so the bias comes out
// of the matmul itself (a separate bias add costs a tenth of the pass; a 257th column costs nothing measurable). The
// native backend's matmul runs at about 60 % of its speed on blocks of 2 000 rows against one of 30 000 or more
// (thread-pool sharding), so blocks are large: up to 64 MB of distances.
import type { Tensor2D } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';

/** Distances per block: 16 Mi float32 = 64 MB. */
const BLOCK_FLOATS = 16 * 1024 * 1024;
const MIN_BLOCK_ROWS = 256;

export function blockRows(k: number): number {
  return Math.max(MIN_BLOCK_ROWS, Math.floor(BLOCK_FLOATS / k));
}

/** Centroids as [-2c, ||c||^2], the right-hand side of every block's matmul. */
export interface CentroidTerms {
  k: number;
  augmented: Tensor2D;
  dispose(): void;
}

export function centroidTerms(centroids: Tensor2D): CentroidTerms {
  const tf = activeTf();
  const augmented = tf.tidy(() => tf.concat([tf.mul(centroids, -2), tf.sum(tf.square(centroids), 1, true)], 1) as Tensor2D);
  return { k: centroids.shape[0], augmented, dispose: () => augmented.dispose() };
}

/** Rows of x in blocks for k centroids, each with a column of ones appended (a copy of x, to be disposed). */
export interface RowBlocks {
  blocks: Array<{ rows: Tensor2D; start: number }>;
  dispose(): void;
}

export function rowBlocks(x: Tensor2D, k: number): RowBlocks {
  const tf = activeTf();
  const [n] = x.shape;
  const size = blockRows(k);
  const blocks: RowBlocks['blocks'] = [];
  for (let start = 0; start < n; start += size) {
    const rows = Math.min(size, n - start);
    const augmented = tf.tidy(() => {
      const part = rows === n ? x : tf.slice(x, [start, 0], [rows, -1]);
      return tf.concat([part, tf.ones([rows, 1])], 1) as Tensor2D;
    });
    blocks.push({ rows: augmented, start });
  }
  return { blocks, dispose: () => tf.dispose(blocks.map((b) => b.rows)) };
}

/**
 * Labels of the blocks' rows against the centroid terms, written into `labels` at each block's start, and, when
 * asked, the sum of squared distances to the chosen centroids (inertia).
 */
export function assignBlocks(blocks: RowBlocks, terms: CentroidTerms, labels: Int32Array, withDistance: boolean): number {
  const tf = activeTf();
  let inertia = 0;
  for (const { rows, start } of blocks.blocks) {
    tf.tidy(() => {
      const partial = tf.matMul(rows, terms.augmented, false, true);
      labels.set(tf.argMin(partial, 1).dataSync() as Int32Array, start);
      if (withDistance) {
        // The ||x||^2 term does not move the argmin, so it is added only here (the rows' squares include the column of
        // ones); relu: round-off can go below 0.
        const squares = tf.sub(tf.sum(tf.square(rows), 1), 1);
        inertia += tf.sum(tf.relu(tf.add(tf.min(partial, 1), squares))).dataSync()[0]!;
      }
    });
  }
  return inertia;
}

/** Labels of rows to centroids and, when asked, the sum of squared distances to them (inertia). */
export function assign(x: Tensor2D, centroids: Tensor2D, withDistance: boolean): { labels: Int32Array; inertia: number } {
  const terms = centroidTerms(centroids);
  const blocks = rowBlocks(x, terms.k);
  const labels = new Int32Array(x.shape[0]);
  try {
    return { labels, inertia: assignBlocks(blocks, terms, labels, withDistance) };
  } finally {
    blocks.dispose();
    terms.dispose();
  }
}
