import type { Tensor2D } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import { readTidy } from './host.ts';
import { assertMatrix } from './validate.ts';

export interface StandardScalerState {
  mean: number[];
  /** Population standard deviation per feature; 1 where a feature is constant (as scikit-learn does). */
  scale: number[];
}

/** Per-feature z-score, fitted on [n, d] rows. */
export class StandardScaler {
  private constructor(readonly state: StandardScalerState) {}

  static fit(x: Tensor2D): StandardScaler {
    assertMatrix('StandardScaler.fit', x, 1);
    const tf = activeTf();
    const mean = readTidy(() => tf.mean(x, 0));
    const scale = readTidy(() => tf.sqrt(tf.moments(x, 0).variance));
    return new StandardScaler({
      mean: Array.from(mean),
      scale: Array.from(scale, (s) => (s > 0 && Number.isFinite(s) ? s : 1)),
    });
  }

  static fromJSON(state: StandardScalerState): StandardScaler {
    if (!state || !Array.isArray(state.mean) || state.mean.length !== state.scale?.length) {
      throw new Error('StandardScaler.fromJSON: expected { mean: number[], scale: number[] } of equal length');
    }
    return new StandardScaler(state);
  }

  toJSON(): StandardScalerState {
    return this.state;
  }

  transform(x: Tensor2D): Tensor2D {
    assertMatrix('StandardScaler.transform', x, 1, this.state.mean.length);
    const tf = activeTf();
    return tf.tidy(() => tf.div(tf.sub(x, tf.tensor1d(this.state.mean)), tf.tensor1d(this.state.scale)));
  }
}

/** Divides each row by its L2 norm; all-zero rows stay zero. */
export function l2NormalizeRows(x: Tensor2D): Tensor2D {
  assertMatrix('l2NormalizeRows', x, 1);
  const tf = activeTf();
  return tf.tidy(() => {
    const norms = tf.sqrt(tf.sum(tf.square(x), 1, true));
    return tf.div(x, tf.maximum(norms, 1e-12));
  });
}
