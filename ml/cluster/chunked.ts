// A refit whose memory does not grow with the source: the scaler, PCA and k-means are fitted on a seeded sample of
// k x maxRowsPerCluster rows (read in a first pass over only those rows), then every row is assigned block by block in
// a second pass. Only the sample's features, one assignment buffer and an Int32 label per row are ever held.
import type { Tensor2D } from '@tensorflow/tfjs';
import type { Rng } from '../rng.ts';
import { activeTf } from '../backend.ts';
import { sampleRows } from './kmeans.ts';
import { assignFeatures, clusterFeatures, fitOnSample, sampleSize, type ClusterFeaturesOptions, type ClusterFeaturesResult } from './pipeline.ts';

/** Feature rows of some rows of a source. */
export interface FeatureBlock {
  /** Source row of each feature row, ascending. */
  rows: Int32Array;
  /** rows.length x dim, row-major. */
  features: Float32Array;
  dim: number;
}

/** Rows 0..size-1 in a fixed order (a run's file list) whose features are computed on demand, a block at a time. */
export interface FeatureSource {
  readonly size: number;
  /**
   * Blocks covering `rows` (ascending), or every row in order when omitted. A row whose features cannot be computed
   * (an image that no longer decodes) is left out of its block.
   */
  blocks(rows?: Int32Array): AsyncIterable<FeatureBlock>;
}

export interface ChunkedClusterResult extends Omit<ClusterFeaturesResult, 'labels'> {
  /** Cluster of every source row; -1 for a row that no block held. */
  labels: Int32Array;
  /** Rows the scaler, PCA and k-means were fitted on. */
  sampleRows: number;
}

/** Rows assigned at once: near 16 M floats of features, so per-call setup is amortised and memory stays bounded. */
const ASSIGN_BUFFER_FLOATS = 16 * 1024 * 1024;

/**
 * clusterFeatures over a source read in blocks. Same seed, same data: the same sample, fit and labels as
 * clusterFeatures on the whole matrix. A source no larger than the sample is read once and fitted whole.
 */
export async function clusterFeaturesInChunks(source: FeatureSource, options: ClusterFeaturesOptions, rng: Rng): Promise<ChunkedClusterResult> {
  const n = source.size;
  const labels = new Int32Array(n).fill(-1);
  const trainRows = sampleSize(n, options);
  if (trainRows === n) {
    const all = await readInto(source.blocks(), n, (row) => (row >= 0 && row < n ? row : undefined));
    if (all.rows.length === 0) throw new Error('clusterFeaturesInChunks: no row of the source has features');
    const result = withMatrix(all, (x) => clusterFeatures(x, options, rng));
    all.rows.forEach((row, i) => (labels[row] = result.labels[i]!));
    return { ...result, labels, sampleRows: all.rows.length };
  }
  const sample = await readSample(source, sampleRows(n, trainRows, rng));
  if (sample.rows.length === 0) throw new Error('clusterFeaturesInChunks: no sampled row of the source has features');
  const { sampleLabels: _, ...fit } = withMatrix(sample, (x) => fitOnSample(x, options, rng));
  const pending = new AssignBuffer(fit.state, labels);
  for await (const block of source.blocks()) pending.add(block);
  pending.flush();
  return { ...fit, labels, sampleRows: sample.rows.length };
}

interface Rows {
  rows: Int32Array;
  features: Float32Array;
  dim: number;
}

function withMatrix<T>(rows: Rows, fn: (x: Tensor2D) => T): T {
  const x = activeTf().tensor2d(rows.features, [rows.rows.length, rows.dim]);
  try {
    return fn(x);
  } finally {
    x.dispose();
  }
}

function concatBlocks(parts: FeatureBlock[]): Rows {
  const dim = parts[0]?.dim ?? 0;
  const count = parts.reduce((sum, p) => sum + p.rows.length, 0);
  const rows = new Int32Array(count);
  const features = new Float32Array(count * dim);
  let at = 0;
  for (const part of parts) {
    if (part.dim !== dim) throw new Error(`clusterFeaturesInChunks: blocks of ${dim} and ${part.dim} features`);
    rows.set(part.rows, at);
    features.set(part.features.subarray(0, part.rows.length * dim), at * dim);
    at += part.rows.length;
  }
  return { rows, features, dim };
}

/** The sampled rows' features in draw order (clusterFeatures gathers them so), read in ascending row order. */
function readSample(source: FeatureSource, picks: Int32Array): Promise<Rows> {
  const slotOf = new Map<number, number>();
  picks.forEach((row, drawIndex) => slotOf.set(row, drawIndex));
  return readInto(source.blocks(picks.slice().sort()), picks.length, (row) => slotOf.get(row));
}

/**
 * Reads blocks into one matrix with a slot per wanted row, each row written in place as its block arrives, then
 * closes the gaps of rows the source left out (order kept). Holds the matrix and one block, never a copy of all.
 */
async function readInto(blocks: AsyncIterable<FeatureBlock>, slots: number, slotOf: (row: number) => number | undefined): Promise<Rows> {
  let features = new Float32Array(0);
  let dim = 0;
  const rowAt = new Int32Array(slots).fill(-1);
  for await (const block of blocks) {
    if (block.rows.length === 0) continue;
    if (dim === 0) {
      dim = block.dim;
      features = new Float32Array(slots * dim);
    }
    if (block.dim !== dim) throw new Error(`clusterFeaturesInChunks: blocks of ${dim} and ${block.dim} features`);
    block.rows.forEach((row, i) => {
      const slot = slotOf(row);
      if (slot === undefined) throw new Error(`clusterFeaturesInChunks: the source returned row ${row}, which was not asked for`);
      features.set(block.features.subarray(i * dim, (i + 1) * dim), slot * dim);
      rowAt[slot] = row;
    });
  }
  let kept = 0;
  for (let slot = 0; slot < slots; slot++) {
    if (rowAt[slot]! < 0) continue;
    if (kept !== slot) {
      features.copyWithin(kept * dim, slot * dim, (slot + 1) * dim);
      rowAt[kept] = rowAt[slot]!;
    }
    kept++;
  }
  return { rows: rowAt.slice(0, kept), features: features.subarray(0, kept * dim), dim };
}

/** Gathers blocks until near ASSIGN_BUFFER_FLOATS, then assigns them at once and writes their labels. */
class AssignBuffer {
  private parts: FeatureBlock[] = [];
  private floats = 0;

  constructor(
    private readonly state: ClusterFeaturesResult['state'],
    private readonly labels: Int32Array,
  ) {}

  add(block: FeatureBlock): void {
    if (block.rows.length === 0) return;
    this.parts.push(block);
    this.floats += block.rows.length * block.dim;
    if (this.floats >= ASSIGN_BUFFER_FLOATS) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    const gathered = concatBlocks(this.parts);
    this.parts = [];
    this.floats = 0;
    const assigned = withMatrix(gathered, (x) => assignFeatures(x, this.state));
    gathered.rows.forEach((row, i) => (this.labels[row] = assigned[i]!));
  }
}
