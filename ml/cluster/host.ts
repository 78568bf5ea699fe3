import type { Tensor } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';

/**
 * Runs `fn` inside tf.tidy and downloads the tensor it returns. Never return a typed array from tf.tidy itself: tidy
 * walks every element of a returned object looking for tensors, which took 18 s for a 3072 x 3072 Gram matrix.
 */
export function readTidy(fn: () => Tensor): Float32Array {
  const tensor = activeTf().tidy(fn);
  try {
    return tensor.dataSync() as Float32Array;
  } finally {
    tensor.dispose();
  }
}
