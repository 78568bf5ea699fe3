import type { Tensor } from '@tensorflow/tfjs';

export function assertMatrix(where: string, x: Tensor, minRows: number, cols?: number): void {
  if (!x || x.rank !== 2) {
    throw new Error(`${where}: expected a 2-D tensor [rows, features], got shape ${JSON.stringify(x?.shape)}`);
  }
  if (x.shape[0]! < minRows) throw new Error(`${where}: needs at least ${minRows} rows, got ${x.shape[0]}`);
  if (cols !== undefined && x.shape[1] !== cols) {
    throw new Error(`${where}: expected ${cols} features per row (as fitted), got ${x.shape[1]}`);
  }
  if (x.dtype !== 'float32') throw new Error(`${where}: expected float32 data, got ${x.dtype}; use tf.cast(x, 'float32')`);
}
