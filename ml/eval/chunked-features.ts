// One loop for every "features of many images, a batch at a time": rows of each batch are read back from the device,
// its tensors freed, and the rows gathered into one row-major matrix along with the ids of the rows that came back.
import type { LayersModel, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import { activeTf } from '../tf-instance.ts';

/** A batch's feature rows: a [rows, dim] tensor (read and disposed by the loop) or rows already on the host. */
export type BatchRows = Tensor2D | { features: Float32Array; dim: number };

export interface GatheredRows<Id> {
  /** The ids of the rows, in order (batches may drop items that did not decode). */
  ids: Id[];
  /** ids.length x dim, row-major. */
  features: Float32Array;
  dim: number;
}

/**
 * Calls `batchRows(start, end)` for [0, chunk), [chunk, 2 chunk), ... up to `total` and gathers what they return;
 * a batch that returns undefined adds no rows.
 */
export async function gatherRowsInChunks<Id>(
  total: number,
  chunk: number,
  batchRows: (start: number, end: number) => Promise<{ ids: Id[]; rows: BatchRows } | undefined>,
): Promise<GatheredRows<Id>> {
  const parts: Float32Array[] = [];
  const ids: Id[] = [];
  let dim = 0;
  for (let start = 0; start < total; start += chunk) {
    const batch = await batchRows(start, Math.min(start + chunk, total));
    if (!batch) continue;
    const { rows } = batch;
    if ('features' in rows) {
      parts.push(rows.features);
      dim = rows.dim;
    } else {
      dim = rows.shape[1]!;
      parts.push((await rows.data()) as Float32Array);
      rows.dispose();
    }
    ids.push(...batch.ids);
  }
  const features = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    features.set(p, at);
    at += p.length;
  }
  return { ids, features, dim };
}

/** Runs a feature function over [n, H, W, C] images `chunk` images at a time and gathers the [n * dim] rows. */
export async function featuresInChunks(
  images: Float32Array,
  shape: [number, number, number, number],
  chunk: number,
  features: (x: Tensor4D) => Tensor,
): Promise<{ features: Float32Array; dim: number }> {
  const tf = activeTf();
  const [, h, w, c] = shape;
  const size = h * w * c;
  const gathered = await gatherRowsInChunks<never>(shape[0], chunk, async (start, end) => ({
    ids: [],
    rows: tf.tidy(() => features(tf.tensor4d(images.subarray(start * size, end * size), [end - start, h, w, c]))) as Tensor2D,
  }));
  return { features: gathered.features, dim: gathered.dim };
}

export type SpatialPooling = 'max' | 'avg';

/** A fully convolutional model's feature maps of a batch, pooled over height and width: [n, channels]. */
export function pooledFeatureMaps(
  model: LayersModel,
  batch: { images: Float32Array; shape: [number, number, number, number] },
  pooling: SpatialPooling,
): Tensor2D {
  const tf = activeTf();
  return tf.tidy(() => {
    const maps = model.predict(tf.tensor4d(batch.images, batch.shape)) as Tensor4D;
    return pooling === 'max' ? tf.max(maps, [1, 2]) : tf.mean(maps, [1, 2]);
  });
}
