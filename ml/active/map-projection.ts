// 2-D coordinates of every embedded image for the labeler's map: UMAP (umap-js) where it is affordable, PCA beyond.
// Seeded, so the same embeddings and seed give the same map.
import { UMAP } from 'umap-js';
import { activeTf } from '../backend.ts';
import { Pca } from '../cluster/pca.ts';
import { Rng } from '../rng.ts';

export type MapMethod = 'umap' | 'pca';

export interface MapProjectionOptions {
  /** 'auto' (default): UMAP up to umapMaxRows images, PCA above (UMAP's cost grows faster than linearly). */
  method?: MapMethod | 'auto';
  seed: number;
  umapMaxRows?: number;
  nNeighbors?: number;
  minDist?: number;
  /** UMAP optimisation epochs; umap-js's default (200-500 by size) when omitted. */
  nEpochs?: number;
  /** Called synchronously during UMAP's optimisation, e.g. to heartbeat. */
  onProgress?: (epoch: number, epochs: number) => void;
}

export interface MapProjection {
  method: MapMethod;
  /** x, y per image in [-1, 1] (the longer axis spans it, the aspect ratio is kept), row-major. */
  points: Float32Array;
}

export const DEFAULT_UMAP_MAX_ROWS = 20_000;

export function projectForMap(features: Float32Array, rows: number, dim: number, options: MapProjectionOptions): MapProjection {
  if (features.length !== rows * dim) {
    throw new Error(`projectForMap: features hold ${features.length} values, not rows x dim = ${rows} x ${dim}`);
  }
  const method = options.method ?? 'auto';
  const umapMaxRows = options.umapMaxRows ?? DEFAULT_UMAP_MAX_ROWS;
  const useUmap = method === 'umap' || (method === 'auto' && rows <= umapMaxRows && rows > (options.nNeighbors ?? 15) + 1);
  const raw = useUmap ? umapPoints(features, rows, dim, options) : pcaPoints(features, rows, dim);
  return { method: useUmap ? 'umap' : 'pca', points: fitToSquare(raw, rows) };
}

function umapPoints(features: Float32Array, rows: number, dim: number, options: MapProjectionOptions): Float32Array {
  const rng = Rng.fromSeed(options.seed);
  const umap = new UMAP({
    nComponents: 2,
    nNeighbors: Math.min(options.nNeighbors ?? 15, rows - 1),
    minDist: options.minDist ?? 0.1,
    nEpochs: options.nEpochs,
    random: () => rng.next(),
  });
  const vectors = Array.from({ length: rows }, (_, i) => Array.from(features.subarray(i * dim, (i + 1) * dim)));
  const epochs = umap.initializeFit(vectors);
  for (let epoch = 0; epoch < epochs; epoch++) {
    umap.step();
    options.onProgress?.(epoch + 1, epochs);
  }
  return Float32Array.from(umap.getEmbedding().flat());
}

function pcaPoints(features: Float32Array, rows: number, dim: number): Float32Array {
  const tf = activeTf();
  if (rows < 2 || dim < 2) return new Float32Array(rows * 2);
  const x = tf.tensor2d(features, [rows, dim]);
  try {
    const pca = Pca.fit(x, { nComponents: 2, whiten: false });
    const projected = pca.transform(x);
    const out = projected.dataSync() as Float32Array;
    projected.dispose();
    return Float32Array.from(out);
  } finally {
    x.dispose();
  }
}

/** Centres the points and scales the longer axis to [-1, 1]. */
function fitToSquare(points: Float32Array, rows: number): Float32Array {
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < rows; i++) {
    const x = points[2 * i]!;
    const y = points[2 * i + 1]!;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  const half = Math.max(maxX - minX, maxY - minY) / 2 || 1;
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  const out = new Float32Array(rows * 2);
  for (let i = 0; i < rows; i++) {
    out[2 * i] = (points[2 * i]! - cx) / half;
    out[2 * i + 1] = (points[2 * i + 1]! - cy) / half;
  }
  return out;
}
