// Runs a feature function over [n, H, W, C] images `chunk` images at a time and gathers the [n * dim] rows.
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';

export async function featuresInChunks(
  images: Float32Array,
  shape: [number, number, number, number],
  chunk: number,
  features: (x: Tensor4D) => Tensor,
): Promise<{ features: Float32Array; dim: number }> {
  const tf = activeTf();
  const [n, h, w, c] = shape;
  const size = h * w * c;
  let out: Float32Array | undefined;
  let dim = 0;
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const rows = tf.tidy(() =>
      features(tf.tensor4d(images.subarray(start * size, (start + count) * size), [count, h, w, c])),
    );
    dim = rows.shape[1]!;
    out ??= new Float32Array(n * dim);
    out.set(await rows.data(), start * dim);
    rows.dispose();
  }
  return { features: out ?? new Float32Array(0), dim };
}
