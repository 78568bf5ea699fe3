// The original's fine-tuning heads on feature maps [h, w, c] of a frozen extractor: 'pool' (global max or average
// pooling) and 'convnet' (convolutions, plain or depthwise-separable, optional spatial dropout before each, 'same'
// padding, ReLU, then global pooling), each followed by the output model of the vector heads (sigmoid or cosine) and trained by the
// same loop (head-training.ts). Maps are standardised per channel by a scaler fitted on every image at the first
// training and kept with the weights. Rows are flat Float32Arrays of h * w * c values, channels last.
import type { Optimizer, Tensor, Tensor2D, Tensor4D, Variable } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import { Rng } from '../rng.ts';
import { headVariables, outputProbabilities, outputShapes, type HeadOutput } from './head-output.ts';
import { mapRows, trainHead, type TrainOptions, type TrainResult } from './head-training.ts';
import { Standardizer, type ScalerState } from './scaler.ts';
import type { LabelTable } from './table.ts';

export type MapShape = [number, number, number];

export interface MapHeadConfig {
  kind: 'pool' | 'convnet';
  mapShape: MapShape;
  numClasses: number;
  seed: number;
  /** Global pooling: 'max' (default, as the original) or 'avg'. */
  pooling?: 'max' | 'avg';
  /** convnet: convolution layers (default 1), filters each (default 256), kernel 1 or 3 (default 1). */
  layers?: number;
  filters?: number;
  kernel?: 1 | 3;
  /** convnet: depthwise (multiplier 1) then pointwise convolutions instead of full ones. */
  separable?: boolean;
  /** convnet: rate of whole channels dropped after each convolution while training (default 0). */
  spatialDropout?: number;
  /** Adam learning rate (default 1e-3, as the original). */
  learningRate?: number;
  output?: HeadOutput;
}

export interface MapHeadState {
  config: MapHeadConfig;
  /**
   * Variable values in creation order: per convolution [kernel, bias] or [depthwise, pointwise, bias], then the
   * output model's [W, b] (sigmoid) or [W, E] (cosine).
   */
  weights: number[][];
  /** Per-channel standardisation (c means and scales). */
  scaler?: ScalerState;
}

/** Values of one predict/embed chunk: bounds the tensors a chunk of large feature maps makes. */
const CHUNK_VALUES = 1 << 22;

const isMapHeadKind = (kind: unknown): kind is MapHeadConfig['kind'] => kind === 'pool' || kind === 'convnet';

/** The variable shapes of a map head, in creation order, and where its output model's variables start. */
export function mapHeadShapes(config: Omit<MapHeadConfig, 'seed'>): {
  shapes: number[][];
  outputFrom: number;
  pooledDim: number;
} {
  const channels = config.mapShape[2];
  const shapes: number[][] = [];
  let inputs = channels;
  if (config.kind === 'convnet') {
    const k = config.kernel ?? 1;
    const filters = config.filters ?? 256;
    for (let layer = 0; layer < (config.layers ?? 1); layer++) {
      if (config.separable) shapes.push([k, k, inputs, 1], [1, 1, inputs, filters], [filters]);
      else shapes.push([k, k, inputs, filters], [filters]);
      inputs = filters;
    }
  }
  const outputFrom = shapes.length;
  shapes.push(...outputShapes(inputs, config.numClasses, config.output));
  return { shapes, outputFrom, pooledDim: inputs };
}

function checkConfig(config: MapHeadConfig): void {
  if (!isMapHeadKind(config.kind)) throw new Error(`MapHead: kind must be pool or convnet, got ${config.kind}`);
  const shape = config.mapShape;
  if (!(Array.isArray(shape) && shape.length === 3 && shape.every((v) => Number.isInteger(v) && v > 0)))
    throw new Error(`MapHead: mapShape must be [h, w, c] of positive whole numbers, got ${JSON.stringify(shape)}`);
  if (!(config.numClasses > 0)) throw new Error('MapHead: numClasses must be positive');
  if (config.pooling !== undefined && config.pooling !== 'max' && config.pooling !== 'avg')
    throw new Error(`MapHead: pooling must be max or avg, got ${config.pooling}`);
  if (config.output !== undefined && config.output !== 'sigmoid' && config.output !== 'cosine')
    throw new Error(`MapHead: output must be sigmoid or cosine, got ${config.output}`);
  const rate = config.spatialDropout ?? 0;
  if (!(rate >= 0 && rate < 1)) throw new Error(`MapHead: spatialDropout must be in [0, 1), got ${rate}`);
}

export class MapHead {
  readonly name = 'MapHead';
  readonly vars: Variable[];
  readonly optimizer: Optimizer;
  private readonly outputFrom: number;
  /** Length of the pooled vector the output model sees (what `embed` returns per row). */
  readonly pooledDim: number;
  private scaler: Standardizer | undefined;

  private constructor(
    readonly config: MapHeadConfig,
    weights?: number[][],
    scaler?: ScalerState,
  ) {
    checkConfig(config);
    this.scaler = scaler ? Standardizer.fromJSON(scaler) : undefined;
    if (this.scaler && this.scaler.dim !== config.mapShape[2])
      throw new Error(`MapHead: scaler has ${this.scaler.dim} channels, map has ${config.mapShape[2]}`);
    const { shapes, outputFrom, pooledDim } = mapHeadShapes(config);
    this.outputFrom = outputFrom;
    this.pooledDim = pooledDim;
    this.vars = headVariables(shapes, Rng.fromSeed(config.seed), {
      weights,
      cosineFrom: config.output === 'cosine' ? outputFrom : undefined,
      owner: 'MapHead',
    });
    this.optimizer = activeTf().train.adam(config.learningRate ?? 1e-3);
  }

  static create(config: MapHeadConfig): MapHead {
    return new MapHead(config);
  }

  static fromJSON(state: MapHeadState): MapHead {
    return new MapHead(state.config, state.weights, state.scaler);
  }

  static isState(state: object): state is MapHeadState {
    return isMapHeadKind((state as { config?: { kind?: unknown } }).config?.kind);
  }

  toJSON(): MapHeadState {
    return {
      config: this.config,
      weights: this.vars.map((v) => Array.from(v.dataSync())),
      ...(this.scaler ? { scaler: this.scaler.toJSON() } : {}),
    };
  }

  get rowShape(): number[] {
    return [...this.config.mapShape];
  }

  get numClasses(): number {
    return this.config.numClasses;
  }

  get output(): HeadOutput | undefined {
    return this.config.output;
  }

  /** Convolution kernels and the output matrix (not biases, nor the cosine output's class directions). */
  get kernels(): Variable[] {
    const directions = this.config.output === 'cosine' ? this.vars.at(-1) : undefined;
    return this.vars.filter((v) => v.shape.length >= 2 && v !== directions);
  }

  get parameterCount(): number {
    return this.vars.reduce((n, v) => n + v.size, 0);
  }

  /** The pooled representation [n, pooledDim] the output model sees, of standardised maps [n, h, w, c]. */
  pooled(x: Tensor, training?: { rng: Rng }): Tensor2D {
    const tf = activeTf();
    let maps = x as Tensor4D;
    if (this.config.kind === 'convnet') {
      const per = this.config.separable ? 3 : 2;
      const rate = training ? (this.config.spatialDropout ?? 0) : 0;
      for (let at = 0; at < this.outputFrom; at += per) {
        const [first, second, third] = this.vars.slice(at, at + per) as Tensor4D[];
        if (rate > 0) maps = tf.mul(maps, spatialDropoutMask(maps.shape, rate, training!.rng)) as Tensor4D;
        maps = this.config.separable
          ? tf.separableConv2d(maps, first!, second!, 1, 'same')
          : tf.conv2d(maps, first!, 1, 'same');
        maps = tf.relu(tf.add(maps, (this.config.separable ? third : second)!)) as Tensor4D;
      }
    }
    return (this.config.pooling === 'avg' ? tf.mean(maps, [1, 2]) : tf.max(maps, [1, 2])) as Tensor2D;
  }

  /** Class probabilities [n, k] of standardised maps [n, h, w, c]. */
  probabilities(x: Tensor, training?: { rng: Rng }): Tensor2D {
    const output = this.vars.slice(this.outputFrom) as [Variable, Variable];
    return outputProbabilities(this.pooled(x, training), output, this.config.numClasses, this.config.output);
  }

  private standardized(features: Float32Array): Float32Array {
    return this.scaler ? this.scaler.transform(features) : features;
  }

  private get chunkRows(): number {
    return Math.max(1, Math.floor(CHUNK_VALUES / this.rowShape.reduce((a, b) => a * b, 1)));
  }

  /** Probabilities [n, k] for flat maps [n, h * w * c]. */
  predict(features: Float32Array): Float32Array {
    const x = this.standardized(features);
    return mapRows(x, this.rowShape, this.chunkRows, this.numClasses, (t) => this.probabilities(t), this.name);
  }

  /** The output model's inputs [n, pooledDim] (BADGE's gradient embeddings are built on them). */
  embed(features: Float32Array): { data: Float32Array; dim: number } {
    const x = this.standardized(features);
    return { data: mapRows(x, this.rowShape, this.chunkRows, this.pooledDim, (t) => this.pooled(t), this.name), dim: this.pooledDim };
  }

  train(raw: Float32Array, table: LabelTable, options: TrainOptions): TrainResult {
    const [h, w, c] = this.config.mapShape;
    if (raw.length !== table.n * h * w * c)
      throw new Error(`MapHead.train: features must be [${table.n}, ${h} x ${w} x ${c}], got ${raw.length} values`);
    this.scaler ??= Standardizer.fit(raw, c);
    return trainHead(this, this.scaler.transform(raw), table, options, this.chunkRows);
  }

  dispose(): void {
    for (const v of this.vars) v.dispose();
    this.optimizer.dispose();
  }
}

/** Keeps whole channels of each image with probability 1 - rate, scaled by 1 / (1 - rate), as Keras' SpatialDropout2D. */
function spatialDropoutMask(shape: number[], rate: number, rng: Rng): Tensor {
  const [n, , , c] = shape as [number, number, number, number];
  const keep = new Float32Array(n * c);
  for (let i = 0; i < keep.length; i++) keep[i] = rng.uniform() < rate ? 0 : 1 / (1 - rate);
  return activeTf().tensor4d(keep, [n, 1, 1, c]);
}
