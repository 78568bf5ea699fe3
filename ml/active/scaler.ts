// Per-feature standardisation, fitted on every embedded image of a project (labelled or not): the unlabelled pool is
// what makes the mean and scale reliable when only a few dozen images carry labels.

export interface ScalerState {
  mean: number[];
  scale: number[];
}

export class Standardizer {
  private constructor(
    readonly mean: Float64Array,
    readonly scale: Float64Array,
  ) {}

  get dim(): number {
    return this.mean.length;
  }

  /** Fits on rows [n, d]; features with no spread keep scale 1 so they pass through centred. */
  static fit(features: Float32Array, dim: number): Standardizer {
    const n = features.length / dim;
    if (!Number.isInteger(n) || n === 0)
      throw new Error(`Standardizer.fit: ${features.length} values are not rows of ${dim}`);
    const mean = new Float64Array(dim);
    const sq = new Float64Array(dim);
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += features[i * dim + j]!;
    for (let j = 0; j < dim; j++) mean[j]! /= n;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < dim; j++) sq[j] += (features[i * dim + j]! - mean[j]!) ** 2;
    const scale = sq.map((s) => {
      const std = Math.sqrt(s / n);
      return std > 1e-8 ? std : 1;
    });
    return new Standardizer(mean, scale);
  }

  static fromJSON(state: ScalerState): Standardizer {
    if (state.mean.length !== state.scale.length)
      throw new Error('Standardizer: mean and scale must have the same length');
    return new Standardizer(Float64Array.from(state.mean), Float64Array.from(state.scale));
  }

  toJSON(): ScalerState {
    return { mean: Array.from(this.mean), scale: Array.from(this.scale) };
  }

  /** Standardised copy of rows [n, d] (all rows, or the listed ones in that order). */
  transform(features: Float32Array, rows?: ArrayLike<number>): Float32Array {
    const d = this.dim;
    const n = rows ? rows.length : features.length / d;
    if (!rows && !Number.isInteger(n))
      throw new Error(`Standardizer: ${features.length} values are not rows of ${d}`);
    const out = new Float32Array(n * d);
    for (let r = 0; r < n; r++) {
      const i = rows ? rows[r]! : r;
      for (let j = 0; j < d; j++) out[r * d + j] = (features[i * d + j]! - this.mean[j]!) / this.scale[j]!;
    }
    return out;
  }
}
