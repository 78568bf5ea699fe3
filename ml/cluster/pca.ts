import type { Tensor2D } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import { symmetricEigen } from './eigh.ts';
import { readTidy } from './host.ts';
import { assertMatrix } from './validate.ts';

export interface PcaOptions {
  nComponents: number;
  /** Divide each component by its standard deviation, so the output has unit variance per component. */
  whiten?: boolean;
}

export interface PcaState {
  mean: number[];
  /** nComponents rows of d values, unit length, strongest first. */
  components: number[][];
  /** Variance along each component (eigenvalue of the covariance with the n-1 denominator). */
  explainedVariance: number[];
  whiten: boolean;
}

/** PCA by eigendecomposition of the d x d covariance (computed with a native matmul). */
export class Pca {
  private constructor(readonly state: PcaState) {}

  static fit(x: Tensor2D, options: PcaOptions): Pca {
    assertMatrix('Pca.fit', x, 2);
    const [n, d] = x.shape;
    const k = options.nComponents;
    if (!Number.isInteger(k) || k < 1 || k > Math.min(n, d)) {
      throw new Error(`Pca.fit: nComponents must be an integer in 1..min(rows, features) = ${Math.min(n, d)}, got ${k}`);
    }
    const tf = activeTf();
    const mean = readTidy(() => tf.mean(x, 0));
    const cov = readTidy(() => {
      const centered = tf.sub(x, tf.tensor1d(mean));
      return tf.div(tf.matMul(centered, centered, true, false), n - 1);
    });
    const covariance = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) covariance[i * d + j] = (cov[i * d + j]! + cov[j * d + i]!) / 2; // exact symmetry
    }
    const { values, vectors } = symmetricEigen(covariance, d);
    const components: number[][] = [];
    for (let c = 0; c < k; c++) {
      const row = Array.from(vectors.subarray(c * d, (c + 1) * d));
      // Deterministic sign: the largest-magnitude entry is positive.
      let big = 0;
      for (let j = 1; j < d; j++) if (Math.abs(row[j]!) > Math.abs(row[big]!)) big = j;
      if (row[big]! < 0) for (let j = 0; j < d; j++) row[j] = -row[j]!;
      components.push(row);
    }
    return new Pca({
      mean: Array.from(mean),
      components,
      explainedVariance: Array.from(values.subarray(0, k), (v) => Math.max(v, 0)),
      whiten: options.whiten ?? false,
    });
  }

  static fromJSON(state: PcaState): Pca {
    const d = state?.mean?.length;
    if (!d || !Array.isArray(state.components) || state.components.some((row) => row.length !== d)) {
      throw new Error('Pca.fromJSON: expected { mean: number[d], components: number[k][d], explainedVariance, whiten }');
    }
    return new Pca(state);
  }

  toJSON(): PcaState {
    return this.state;
  }

  get nComponents(): number {
    return this.state.components.length;
  }

  transform(x: Tensor2D): Tensor2D {
    assertMatrix('Pca.transform', x, 1, this.state.mean.length);
    const tf = activeTf();
    const { mean, components, explainedVariance, whiten } = this.state;
    return tf.tidy((): Tensor2D => {
      const projected = tf.matMul<Tensor2D>(tf.sub(x, tf.tensor1d(mean)), tf.tensor2d(components), false, true);
      if (!whiten) return projected;
      // Components with ~zero variance would blow up; floor the divisor relative to the strongest component.
      const floor = Math.max(explainedVariance[0]! * 1e-12, 1e-30);
      return tf.div<Tensor2D>(projected, tf.tensor1d(explainedVariance.map((v) => Math.sqrt(Math.max(v, floor)))));
    });
  }
}
