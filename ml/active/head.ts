// Heads trained by stochastic gradient on feature vectors (the original's pre-extracted mode): linear or one-hidden-layer
// MLP, then the original's output models: sigmoid with masked BCE, or cosine (each class a learned direction in its
// own plane, 0.5 (cos + 1)) with masked mean absolute error; Adam, and optional entropy minimisation on unlabeled rows. Features are
// standardised by a scaler fitted on every row at the first training and kept with the weights; stratified batches
// draw 0 and 1 labels equally often, so rare classes are balanced; optional L2 weight decay; with validation labels,
// the epoch with the lowest validation loss is kept.
import type { Tensor, Tensor2D, Variable } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import { Rng } from '../rng.ts';
import { headVariables, outputProbabilities, outputShapes } from './head-output.ts';
import { mapRows, trainHead, type TrainableHead, type TrainOptions, type TrainResult } from './head-training.ts';
import { Standardizer, type ScalerState } from './scaler.ts';
import type { LabelTable } from './table.ts';

export type { TrainOptions, TrainResult } from './head-training.ts';

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

export class Head {
  readonly name = 'Head';
  readonly vars: Variable[];
  readonly optimizer;
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
    const hiddenShapes = config.kind === 'linear' ? [] : [[d, h], [h]];
    const last = config.kind === 'linear' ? d : h;
    const shapes = [...hiddenShapes, ...outputShapes(last, k, config.output)];
    this.vars = headVariables(shapes, Rng.fromSeed(config.seed), {
      weights,
      cosineFrom: config.output === 'cosine' ? hiddenShapes.length : undefined,
      owner: 'Head',
    });
    this.optimizer = tf.train.adam(config.learningRate ?? 1e-3);
  }

  get rowShape(): number[] {
    return [this.config.inputDim];
  }

  get numClasses(): number {
    return this.config.numClasses;
  }

  get output() {
    return this.config.output;
  }

  /** Weight matrices (biases and the cosine output's class directions are not penalised by weight decay). */
  get kernels(): Variable[] {
    const directions = this.config.output === 'cosine' ? this.vars.at(-1) : undefined;
    return this.vars.filter((v) => v.shape.length === 2 && v !== directions);
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
  probabilities(x: Tensor): Tensor2D {
    const last = this.config.kind === 'linear' ? [this.vars[0]!, this.vars[1]!] : [this.vars[2]!, this.vars[3]!];
    return outputProbabilities(this.penultimate(x as Tensor2D), last as [Variable, Variable], this.config.numClasses, this.config.output);
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

  private mapRows(features: Float32Array, chunk: number, outDim: number, fn: (x: Tensor2D) => Tensor2D): Float32Array {
    return mapRows(features, this.rowShape, chunk, outDim, (x) => fn(x as Tensor2D), 'Head');
  }

  /** Fine-tunes with stratified batches (as the original: each epoch draws samplesPerEpoch rows, then batches them). */
  train(raw: Float32Array, table: LabelTable, options: TrainOptions): TrainResult {
    const d = this.config.inputDim;
    if (raw.length !== table.n * d) throw new Error(`Head.train: features must be [${table.n}, ${d}]`);
    this.scaler ??= Standardizer.fit(raw, d);
    return trainHead(this satisfies TrainableHead, this.scaler.transform(raw), table, options);
  }

  dispose(): void {
    for (const v of this.vars) v.dispose();
    this.optimizer.dispose();
  }
}
