// The original's output models on a head's last representation z [n, inputs]: 'sigmoid' (a dense layer, sigmoid) or
// 'cosine' (each class a learned direction in its own plane, 0.5 (cos + 1)); their variable shapes and initial values.
import type { Tensor2D, Variable } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import type { Rng } from '../rng.ts';

export type HeadOutput = 'sigmoid' | 'cosine';

/** [W, b] for sigmoid outputs, [W, E] (no bias) for cosine outputs. */
export function outputShapes(inputs: number, classes: number, output: HeadOutput | undefined): number[][] {
  return output === 'cosine' ? [[inputs, 2 * classes], [classes, 2]] : [[inputs, classes], [classes]];
}

/** Glorot-uniform with Keras' fans: the receptive field times the input and output channels. */
export function glorot(rng: Rng, shape: number[]): Float32Array {
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const fanIn = shape.at(-2)! * receptive;
  const fanOut = shape.at(-1)! * receptive;
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return rng.fillUniform(new Float32Array(fanIn * shape.at(-1)!), -limit, limit) as Float32Array;
}

/**
 * Variables of `shapes` in order, from `weights` when given, else drawn from `rng`: the cosine output's variables
 * (from `cosineFrom` on) uniform in +-0.05, other kernels Glorot, biases zero.
 */
export function headVariables(
  shapes: number[][],
  rng: Rng,
  options: { weights?: number[][]; cosineFrom?: number; owner: string },
): Variable[] {
  const tf = activeTf();
  if (options.weights && options.weights.length !== shapes.length)
    throw new Error(`${options.owner}: ${options.weights.length} weights given, expected ${shapes.length}`);
  return shapes.map((shape, i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const cosineOutput = options.cosineFrom !== undefined && i >= options.cosineFrom;
    const init = options.weights
      ? Float32Array.from(options.weights[i]!)
      : cosineOutput
        ? (rng.fillUniform(new Float32Array(size), -0.05, 0.05) as Float32Array)
        : shape.length >= 2
          ? glorot(rng, shape)
          : new Float32Array(size);
    if (init.length !== size) throw new Error(`${options.owner}: weight ${i} has ${init.length} values, expected ${size}`);
    return tf.variable(tf.tensor(init, shape), true);
  });
}

/** Class probabilities [n, classes] of z through the output model's two variables. */
export function outputProbabilities(
  z: Tensor2D,
  [w, second]: [Variable, Variable],
  classes: number,
  output: HeadOutput | undefined,
): Tensor2D {
  const tf = activeTf();
  if (output !== 'cosine') return tf.sigmoid(tf.add(tf.matMul(z, w as Tensor2D), second)) as Tensor2D;
  // Each class: the input projected to a plane, compared by cosine with the class's learned direction there.
  const projected = tf.reshape(tf.matMul(z, w as Tensor2D), [-1, classes, 2]);
  const unit = tf.div(projected, tf.add(tf.norm(projected, 'euclidean', 2, true), 1e-7));
  const directions = tf.div(second, tf.add(tf.norm(second, 'euclidean', 1, true), 1e-7));
  const cosine = tf.sum(tf.mul(unit, directions), 2);
  return tf.mul(tf.add(cosine, 1), 0.5) as Tensor2D;
}
