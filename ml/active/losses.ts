// Losses of the original's _losses.py, on tfjs tensors from activeTf().
import type { Tensor, Scalar } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';

/** Keras' backend epsilon, used for clipping and inside the log exactly as keras.losses.binary_crossentropy does. */
export const KERAS_EPSILON = 1e-7;

/** 1 where y is known (0 or 1), and y there, label-smoothed to y(1-eps) + eps/2; zeros where y is -1. */
function maskedTarget(y: Tensor, labelSmoothing: number): { mask: Tensor; target: Tensor } {
  const tf = activeTf();
  const mask = tf.cast(tf.notEqual(y, -1), 'float32');
  let target = tf.mul(tf.cast(y, 'float32'), mask);
  if (labelSmoothing > 0) target = tf.add(tf.mul(target, 1 - labelSmoothing), labelSmoothing / 2);
  return { mask, target };
}

/**
 * Masked multi-hot binary cross-entropy: y holds -1 (unknown), 0 or 1; p holds probabilities. Unknown entries
 * contribute exactly 0 to the value and the gradient; the loss is the mean BCE over known entries (0 if none).
 * With label smoothing eps, y <- y(1-eps) + eps/2 for known entries.
 */
export function maskedBinaryCrossEntropy(y: Tensor, p: Tensor, labelSmoothing = 0): Scalar {
  const tf = activeTf();
  return tf.tidy(() => {
    const { mask, target } = maskedTarget(y, labelSmoothing);
    const pc = tf.clipByValue(p, KERAS_EPSILON, 1 - KERAS_EPSILON);
    const bce = tf.neg(
      tf.add(
        tf.mul(target, tf.log(tf.add(pc, KERAS_EPSILON))),
        tf.mul(tf.sub(1, target), tf.log(tf.add(tf.sub(1, pc), KERAS_EPSILON))),
      ),
    );
    // Multiplying by the mask (not by p*m as Keras does) also zeroes the gradient reaching p at unknown entries.
    const total = tf.sum(tf.mul(bce, mask));
    return tf.div(total, tf.maximum(tf.sum(mask), 1)) as Scalar;
  });
}

/** Masked mean absolute error (the original's loss for the cosine output): sum |y m - p m| / sum m, 0 if nothing known. */
export function maskedMeanAbsoluteError(y: Tensor, p: Tensor, labelSmoothing = 0): Scalar {
  const tf = activeTf();
  return tf.tidy(() => {
    const { mask, target } = maskedTarget(y, labelSmoothing);
    const total = tf.sum(tf.mul(tf.abs(tf.sub(target, p)), mask));
    return tf.div(total, tf.maximum(tf.sum(mask), 1)) as Scalar;
  });
}

/** Mean over batch and classes of the binary entropy -[p ln p + (1-p) ln(1-p)] in nats (entropy minimisation). */
export function entropyLoss(p: Tensor): Scalar {
  const tf = activeTf();
  return tf.tidy(() => {
    const pc = tf.clipByValue(p, KERAS_EPSILON, 1 - KERAS_EPSILON);
    return tf.mean(
      tf.neg(tf.add(tf.mul(pc, tf.log(pc)), tf.mul(tf.sub(1, pc), tf.log(tf.sub(1, pc))))),
    ) as Scalar;
  });
}
