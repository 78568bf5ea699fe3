// Padding and cropping of NHWC tensors with rank-4 kernels only (fast on wasm), shared by the gradient kernels.
import type { Tensor4D } from '@tensorflow/tfjs';
import { activeTf } from '../../tf-instance.ts';

export type Pad = 'valid' | 'same' | number | number[][];

/**
 * Rows [-top, -top + rows) and columns [-left, -left + cols) of x, with `value` outside it: pads and crops with
 * rank-4 kernels only.
 */
export function padOrCrop(
  x: Tensor4D,
  top: number,
  rows: number,
  left: number,
  cols: number,
  value: number,
): Tensor4D {
  const tf = activeTf();
  const [n, h, w, c] = x.shape;
  const bottom = rows - h - top;
  const right = cols - w - left;
  let t = x;
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    const p = (v: number) => Math.max(0, v);
    t = tf.pad(
      t,
      [
        [0, 0],
        [p(top), p(bottom)],
        [p(left), p(right)],
        [0, 0],
      ],
      value,
    );
  }
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    t = tf.slice(t, [0, Math.max(0, -top), Math.max(0, -left), 0], [n, rows, cols, c]);
  }
  return t;
}
