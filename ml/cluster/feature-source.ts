// A FeatureSource over a keyed list (a run's file list, in memory or read from the store in parts): rows are fetched `batchSize` keys at a time by a caller's
// function that may drop keys (images that do not decode) and returns features as a tensor or host rows.
import type { Tensor2D } from '@tensorflow/tfjs';
import type { FeatureBlock, FeatureSource } from './chunked.ts';

export type KeyedRows<K> = { ids: K[]; rows: Tensor2D | { features: Float32Array; dim: number } };

export interface BatchedSourceOptions<K> {
  size: number;
  batchSize: number;
  /** Keys of `rows` (ascending), e.g. from an array or a list read from the store a part at a time. */
  keysAt(rows: Int32Array): K[] | Promise<K[]>;
  /** Features of `keys`; `ids` are the keys that have a row, in the order given. Undefined: none of them. */
  rowsOf(keys: K[]): Promise<KeyedRows<K> | undefined>;
}

export function batchedFeatureSource<K>(options: BatchedSourceOptions<K>): FeatureSource {
  const { size, batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchedFeatureSource: batchSize must be a positive integer, got ${batchSize}`);
  return {
    size,
    async *blocks(rows?: Int32Array): AsyncIterable<FeatureBlock> {
      const count = rows ? rows.length : size;
      for (let start = 0; start < count; start += batchSize) {
        const end = Math.min(start + batchSize, count);
        const asked = rows ? rows.subarray(start, end) : Int32Array.from({ length: end - start }, (_, i) => start + i);
        const keys = await options.keysAt(asked);
        const got = await options.rowsOf(keys);
        if (!got) continue;
        yield { rows: rowsOfIds(asked, keys, got.ids), ...(await hostRows(got.rows)) };
      }
    },
  };
}

/** The rows whose keys came back: `ids` must be `keys` with some left out, in order. */
function rowsOfIds<K>(asked: Int32Array, keys: K[], ids: K[]): Int32Array {
  const out = new Int32Array(ids.length);
  let j = 0;
  ids.forEach((id, i) => {
    while (j < keys.length && keys[j] !== id) j++;
    if (j === keys.length) throw new Error(`batchedFeatureSource: rowsOf returned ${String(id)}, not one of the keys asked for in their order`);
    out[i] = asked[j++]!;
  });
  return out;
}

async function hostRows(rows: KeyedRows<unknown>['rows']): Promise<{ features: Float32Array; dim: number }> {
  if ('features' in rows) return rows;
  try {
    return { features: (await rows.data()) as Float32Array, dim: rows.shape[1] };
  } finally {
    rows.dispose();
  }
}
