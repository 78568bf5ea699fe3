// Heads trained by stochastic gradient on feature vectors (the original's pre-extracted mode): linear or one-hidden-layer
// MLP, then the original's output models: sigmoid with masked BCE, or cosine (each class a learned direction in its
// own plane, 0.5 (cos + 1)) with masked mean absolute error; Adam, and optional entropy minimisation on unlabeled rows. Features are
// standardised by a scaler fitted on every row at the first training and kept with the weights; stratified batches
// draw 0 and 1 labels equally often, so rare classes are balanced; optional L2 weight decay; with validation labels,
// the epoch with the lowest validation loss is kept.
import type { Tensor2D, Variable } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import { Rng } from '../rng.ts';
import { entropyLoss, maskedBinaryCrossEntropy, maskedMeanAbsoluteError } from './losses.ts';
import { Standardizer, type ScalerState } from './scaler.ts';
import { stratifiedSample, unlabeledRows } from './sampling.ts';
import { checkTable, type LabelTable } from './table.ts';

export interface HeadConfig {
  kind: 'linear' | 'mlp';
  inputDim: number;
  numClasses: number;
  /** MLP hidden units (default 256). */
  hidden?: number;
  seed: number;
  /** Adam learning rate (default 1e-3, as the original). */
  learningRate?: number;
  /** The output model: 'sigmoid' (default) or 'cosine'. */
  output?: 'sigmoid' | 'cosine';
}

export interface HeadState {
  config: HeadConfig;
  /** Variable values in creation order: [W, b] or [W1, b1, W2, b2]; cosine outputs end in [W, E] (no bias). */
  weights: number[][];
  /** Feature standardisation (absent in heads saved before it existed: features are used as they are). */
  scaler?: ScalerState;
}

export interface TrainOptions {
  epochs?: number;
  samplesPerEpoch?: number;
  batchSize?: number;
  /** Weight of the entropy term on unlabeled rows; 0 (default) disables it. */
  entropyWeight?: number;
  labelSmoothing?: number;
  /** L2 penalty on the weight matrices (not the biases); 0 (default) disables it. */
  weightDecay?: number;
  rng: Rng;
}

export interface TrainResult {
  /** One value per step, as the original records them. */
  losses: number[];
  entropy: number[];
  /** Masked BCE on labelled validation rows after each epoch (empty without validation labels). */
  validationLosses: number[];
  /** The epoch whose weights were kept (the last one without validation labels). */
  keptEpoch: number;
}

function glorot(rng: Rng, fanIn: number, fanOut: number): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return rng.fillUniform(new Float32Array(fanIn * fanOut), -limit, limit) as Float32Array;
}

export class Head {
  readonly vars: Variable[];
  private optimizer;
  private scaler: Standardizer | undefined;

  private constructor(
    readonly config: HeadConfig,
    weights?: number[][],
    scaler?: ScalerState,
  ) {
    this.scaler = scaler ? Standardizer.fromJSON(scaler) : undefined;
    const tf = activeTf();
    const { inputDim: d, numClasses: k } = config;
    const h = config.hidden ?? 256;
    const rng = Rng.fromSeed(config.seed);
    const hiddenShapes = config.kind === 'linear' ? [] : [[d, h], [h]];
    const last = config.kind === 'linear' ? d : h;
    const outputShapes = config.output === 'cosine' ? [[last, 2 * k], [k, 2]] : [[last, k], [k]];
    const shapes = [...hiddenShapes, ...outputShapes];
    this.vars = shapes.map((shape, i) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const cosineOutput = config.output === 'cosine' && i >= hiddenShapes.length;
      const init = weights
        ? Float32Array.from(weights[i]!)
        : cosineOutput
          ? (rng.fillUniform(new Float32Array(size), -0.05, 0.05) as Float32Array)
          : shape.length === 2
            ? glorot(rng, shape[0]!, shape[1]!)
            : new Float32Array(size);
      if (init.length !== size)
        throw new Error(`Head: weight ${i} has ${init.length} values, expected ${size}`);
      return tf.variable(tf.tensor(init, shape), true);
    });
    this.optimizer = tf.train.adam(config.learningRate ?? 1e-3);
  }

  static create(config: HeadConfig): Head {
    if (config.kind !== 'linear' && config.kind !== 'mlp')
      throw new Error(`Head: kind must be linear or mlp, got ${config.kind}`);
    if (!(config.inputDim > 0 && config.numClasses > 0))
      throw new Error('Head: inputDim and numClasses must be positive');
    if (config.output !== undefined && config.output !== 'sigmoid' && config.output !== 'cosine')
      throw new Error(`Head: output must be sigmoid or cosine, got ${config.output}`);
    return new Head(config);
  }

  static fromJSON(state: HeadState): Head {
    return new Head(state.config, state.weights, state.scaler);
  }

  toJSON(): HeadState {
    return {
      config: this.config,
      weights: this.vars.map((v) => Array.from(v.dataSync())),
      ...(this.scaler ? { scaler: this.scaler.toJSON() } : {}),
    };
  }

  private standardized(features: Float32Array): Float32Array {
    return this.scaler ? this.scaler.transform(features) : features;
  }

  /** The representation the last layer sees (the features themselves for a linear head). */
  penultimate(x: Tensor2D): Tensor2D {
    const tf = activeTf();
    if (this.config.kind === 'linear') return x;
    return tf.relu(tf.add(tf.matMul(x, this.vars[0] as Tensor2D), this.vars[1]!)) as Tensor2D;
  }

  /** Class probabilities [n, k] of standardised features [n, d]. */
  probabilities(x: Tensor2D): Tensor2D {
    const tf = activeTf();
    const [w, second] = this.config.kind === 'linear' ? [this.vars[0]!, this.vars[1]!] : [this.vars[2]!, this.vars[3]!];
    const z = this.penultimate(x);
    if (this.config.output !== 'cosine') return tf.sigmoid(tf.add(tf.matMul(z, w as Tensor2D), second)) as Tensor2D;
    // Each class: the input projected to a plane, compared by cosine with the class's learned direction there.
    const k = this.config.numClasses;
    const projected = tf.reshape(tf.matMul(z, w as Tensor2D), [-1, k, 2]);
    const unit = tf.div(projected, tf.add(tf.norm(projected, 'euclidean', 2, true), 1e-7));
    const classes = tf.div(second, tf.add(tf.norm(second, 'euclidean', 1, true), 1e-7));
    const cosine = tf.sum(tf.mul(unit, classes), 2);
    return tf.mul(tf.add(cosine, 1), 0.5) as Tensor2D;
  }

  private loss(y: Tensor2D, p: Tensor2D, labelSmoothing = 0) {
    return this.config.output === 'cosine'
      ? maskedMeanAbsoluteError(y, p, labelSmoothing)
      : maskedBinaryCrossEntropy(y, p, labelSmoothing);
  }

  /** Probabilities [n, k] for features [n, d], computed in chunks. */
  predict(features: Float32Array, chunk = 4096): Float32Array {
    return this.mapRows(this.standardized(features), chunk, this.config.numClasses, (x) => this.probabilities(x));
  }

  /** Penultimate representation [n, h] (h = inputDim for linear heads). */
  embed(features: Float32Array, chunk = 4096): { data: Float32Array; dim: number } {
    const dim = this.config.kind === 'linear' ? this.config.inputDim : (this.config.hidden ?? 256);
    return { data: this.mapRows(this.standardized(features), chunk, dim, (x) => this.penultimate(x)), dim };
  }

  private mapRows(
    features: Float32Array,
    chunk: number,
    outDim: number,
    fn: (x: Tensor2D) => Tensor2D,
  ): Float32Array {
    const tf = activeTf();
    const d = this.config.inputDim;
    const n = features.length / d;
    if (!Number.isInteger(n))
      throw new Error(`Head: features length ${features.length} is not a multiple of inputDim ${d}`);
    const out = new Float32Array(n * outDim);
    for (let start = 0; start < n; start += chunk) {
      const m = Math.min(chunk, n - start);
      const y = tf.tidy(() => fn(tf.tensor2d(features.subarray(start * d, (start + m) * d), [m, d])));
      out.set(y.dataSync(), start * outDim);
      y.dispose();
    }
    return out;
  }

  /** Fine-tunes with stratified batches (as the original: each epoch draws samplesPerEpoch rows, then batches them). */
  train(raw: Float32Array, table: LabelTable, options: TrainOptions): TrainResult {
    checkTable(table);
    const tf = activeTf();
    const d = this.config.inputDim;
    const k = this.config.numClasses;
    if (table.classes.length !== k)
      throw new Error(`Head.train: table has ${table.classes.length} classes, head has ${k}`);
    if (raw.length !== table.n * d) throw new Error(`Head.train: features must be [${table.n}, ${d}]`);
    this.scaler ??= Standardizer.fit(raw, d);
    const features = this.scaler.transform(raw);
    const decay = options.weightDecay ?? 0;
    const validationRows = validationRowsOf(table);
    const validationX = validationRows.length > 0 ? gatherRows(features, d, validationRows) : null;
    const validationY = validationRows.flatMap((i) => Array.from(table.labels.subarray(i * k, i * k + k)));
    let best: { loss: number; epoch: number; weights: Float32Array[] } | undefined;
    const epochs = options.epochs ?? 10;
    const perEpoch = options.samplesPerEpoch ?? 1000;
    const batchSize = options.batchSize ?? 16;
    const w = options.entropyWeight ?? 0;
    const unlabeled = w > 0 ? unlabeledRows(table).filter((i) => !table.exclude[i]) : [];
    const result: TrainResult = { losses: [], entropy: [], validationLosses: [], keptEpoch: epochs - 1 };
    const gather = (rows: ArrayLike<number>) => gatherRows(features, d, rows);
    for (let e = 0; e < epochs; e++) {
      const sample = stratifiedSample(table, perEpoch, options.rng);
      for (let start = 0; start < perEpoch; start += batchSize) {
        const m = Math.min(batchSize, perEpoch - start);
        const xb = gather(sample.indices.subarray(start, start + m));
        const yb = sample.labels.subarray(start * k, (start + m) * k);
        const ub =
          unlabeled.length > 0
            ? gather(Array.from({ length: m }, () => unlabeled[options.rng.integer(0, unlabeled.length)]!))
            : null;
        let ent = 0;
        const loss = tf.tidy(() => {
          const x = tf.tensor2d(xb, [m, d]);
          const y = tf.tensor2d(Int32Array.from(yb), [m, k], 'int32');
          const u = ub ? tf.tensor2d(ub, [m, d]) : null;
          const cost = this.optimizer.minimize(
            () => {
              let l = this.loss(y, this.probabilities(x), options.labelSmoothing ?? 0);
              if (decay > 0) l = tf.add(l, tf.mul(this.weightNorm(), decay / 2));
              if (!u) return l;
              const en = entropyLoss(this.probabilities(u));
              ent = en.dataSync()[0]!;
              return tf.add(l, tf.mul(en, w));
            },
            true,
            this.vars,
          )!;
          return cost;
        });
        result.losses.push(loss.dataSync()[0]!);
        result.entropy.push(ent);
        loss.dispose();
      }
      if (validationX) {
        const v = tf.tidy(
          () =>
            this.loss(
              tf.tensor2d(Int32Array.from(validationY), [validationRows.length, k], 'int32'),
              this.probabilities(tf.tensor2d(validationX, [validationRows.length, d])),
            ).dataSync()[0]!,
        );
        result.validationLosses.push(v);
        if (!best || v < best.loss)
          best = { loss: v, epoch: e, weights: this.vars.map((w) => w.dataSync().slice() as Float32Array) };
      }
    }
    if (best) {
      this.vars.forEach((w, i) => w.assign(tf.tensor(best!.weights[i]!, w.shape)));
      result.keptEpoch = best.epoch;
    }
    return result;
  }

  /** Sum of squared entries of the weight matrices (biases and the cosine output's class directions are not penalised). */
  private weightNorm() {
    const tf = activeTf();
    const directions = this.config.output === 'cosine' ? this.vars.at(-1) : undefined;
    const kernels = this.vars.filter((v) => v.shape.length === 2 && v !== directions);
    return kernels.map((v) => tf.sum(tf.square(v))).reduce((a, b) => tf.add(a, b));
  }

  dispose(): void {
    for (const v of this.vars) v.dispose();
    this.optimizer.dispose();
  }
}

function gatherRows(features: Float32Array, d: number, rows: ArrayLike<number>): Float32Array {
  const x = new Float32Array(rows.length * d);
  for (let j = 0; j < rows.length; j++) x.set(features.subarray(rows[j]! * d, rows[j]! * d + d), j * d);
  return x;
}

/** Validation rows with at least one label, not excluded. */
function validationRowsOf(table: LabelTable): number[] {
  const k = table.classes.length;
  const rows: number[] = [];
  for (let i = 0; i < table.n; i++) {
    if (!table.validation[i] || table.exclude[i]) continue;
    if (table.labels.subarray(i * k, i * k + k).some((v) => v !== -1)) rows.push(i);
  }
  return rows;
}
