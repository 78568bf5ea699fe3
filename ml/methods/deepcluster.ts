// DeepCluster (Caron et al. 2018) as the original implements it: FCN -> flatten -> [dropout, dense, relu]*
// -> dense(k) logits, trained with softmax cross-entropy on k-means pseudo-labels of the last hidden layer's
// pre-ReLU activations, refit once per epoch; an epoch is about mult * N images drawn uniformly over clusters.
import type { LayersModel, Optimizer, Scalar, SymbolicTensor, Tensor, Tensor2D, layers } from '@tensorflow/tfjs';
import { z } from 'zod';
import { activeTf } from '../backend.ts';
import {
  clusterFeatures,
  clusterFeaturesInChunks,
  normalizedMutualInformation,
  type ClusterFeaturesOptions,
  type ClusterFeaturesResult,
  type FeatureSource,
} from '../cluster/index.ts';
import type { Batch } from '../data/index.ts';
import { KeyList } from '../data/key-list.ts';
import { parseOrThrow } from '../data/options.ts';
import { bnAlexNetFcn } from '../models/index.ts';
import { Rng } from '../rng.ts';
import { STREAM, derivedSeed } from './plan.ts';
import { decayedLearningRate } from './schedule.ts';
import type { StepMetrics, Trainer } from './types.ts';

export const deepClusterSchema = z
  .object({
    pca_dim: z.number().int().positive().default(256),
    k: z.number().int().min(2).default(1000),
    dense: z.array(z.number().int().positive()).min(1, 'dense needs at least one layer size').default([4096]),
    mult: z.number().int().positive().default(1),
    kmeans_max_iter: z.number().int().positive().default(100),
    lr: z.number().positive().default(0.05),
    lr_decay: z.number().min(0).default(100000),
  })
  .strict();
export type DeepClusterConfig = z.output<typeof deepClusterSchema>;

export function parseDeepClusterConfig(value: unknown): DeepClusterConfig {
  return parseOrThrow(deepClusterSchema, value ?? {}, 'deepcluster');
}

export interface DeepClusterOptions {
  config: DeepClusterConfig;
  /** [H, W, C] of the training input (C = 3 when sobel is on). */
  inputShape: [number, number, number];
  fcn?: LayersModel;
  rng: Rng;
  /** The run's seed; dropout masks of global step s are drawn from (seed, s), so a resumed run sees the same masks. */
  seed: number;
}

export interface DeepClusterState extends Record<string, unknown> {
  /** Pseudo-label of every training image, by key order of the run's file list; empty before the first refit. */
  labels: number[];
  /** Epoch of the last refit whose classifier head has been re-initialised. */
  headEpoch: number;
}

/** A refit's pseudo-labels (file-list order), NMI with the previous ones (NaN on the first), cluster sizes and fitted state. */
export interface RefitOutcome {
  labels: number[];
  nmi: number;
  sizes: number[];
  inertia: number;
  state: ClusterFeaturesResult['state'];
}

export class DeepClusterTrainer implements Trainer {
  readonly method = 'deepcluster' as const;
  readonly full: LayersModel;
  /** Outputs the last hidden dense layer before its ReLU: the features that get clustered. */
  readonly features: LayersModel;
  readonly fcn: LayersModel;
  private readonly optimizer: Optimizer & { setLearningRate(lr: number): void };
  private baseLr: number;
  private readonly dropouts: layers.Layer[] = [];
  state: DeepClusterState = { labels: [], headEpoch: -1 };
  rng: Rng;

  constructor(private readonly options: DeepClusterOptions) {
    const tf = activeTf();
    const { config, inputShape } = options;
    this.rng = options.rng;
    this.fcn = options.fcn ?? bnAlexNetFcn({ channels: inputShape[2] });
    const input = tf.input({ shape: inputShape, name: 'dc_input' });
    let x = tf.layers.flatten().apply(this.fcn.apply(input) as SymbolicTensor) as SymbolicTensor;
    let preRelu!: SymbolicTensor;
    config.dense.forEach((units, i) => {
      const dropout = tf.layers.dropout({ rate: 0.5, name: `dc_dropout_${i}` });
      this.dropouts.push(dropout);
      x = dropout.apply(x) as SymbolicTensor;
      preRelu = tf.layers.dense({ units, name: `dc_dense_${i}` }).apply(x) as SymbolicTensor;
      x = tf.layers.reLU().apply(preRelu) as SymbolicTensor;
    });
    const logits = tf.layers.dense({ units: config.k, name: 'logit_out' }).apply(x) as SymbolicTensor;
    this.full = tf.model({ inputs: input, outputs: logits, name: 'deepcluster' });
    this.features = tf.model({ inputs: input, outputs: preRelu, name: 'deepcluster_features' });
    this.baseLr = config.lr;
    this.optimizer = tf.train.momentum(config.lr, 0.9) as Optimizer & { setLearningRate(lr: number): void };
  }

  parts() {
    return { models: { model: this.full }, optimizers: { sgd: this.optimizer } };
  }

  exportedModels(): Record<string, LayersModel> {
    return { full: this.full };
  }

  featureExtractor(): LayersModel {
    return this.fcn;
  }

  learningRate(step: number): number {
    return decayedLearningRate(this.baseLr, this.options.config.lr_decay, step);
  }

  setBaseLearningRate(lr: number): void {
    this.baseLr = lr;
  }

  methodState(): Record<string, unknown> {
    return this.state;
  }

  loadMethodState(state: Record<string, unknown>): void {
    const labels = Array.isArray(state.labels) ? (state.labels as number[]) : [];
    this.state = { labels, headEpoch: typeof state.headEpoch === 'number' ? state.headEpoch : -1 };
  }

  /** Features for a batch (no dropout), flattened to [B, D]. */
  embedBatch(batch: Batch): Tensor2D {
    const tf = activeTf();
    return tf.tidy(() => this.features.predict(tf.tensor4d(batch.images, batch.shape)) as Tensor2D);
  }

  /**
   * Clusters features of every training image into pseudo-labels (features given in file-list order) and records
   * them; returns the NMI with the previous assignment (NaN on the first refit) and the cluster sizes. The head is
   * re-initialised by resetHeadIfNeeded when training of that epoch starts, from the trainer's own stream.
   */
  refit(features: Tensor2D, rng: Rng, onIteration?: ClusterFeaturesOptions['onIteration']): RefitOutcome {
    const result = clusterFeatures(features, this.clusterOptions(onIteration), rng);
    return this.recordRefit(Array.from(result.labels), result);
  }

  /**
   * refit over a source read in blocks (every training image, in file-list order): the sample's features and one
   * block are held at a time, never every image's. A row the source could not embed gets label 0, as refit's caller
   * gives images that failed to decode.
   */
  async refitInChunks(source: FeatureSource, rng: Rng, onIteration?: ClusterFeaturesOptions['onIteration']): Promise<RefitOutcome> {
    const result = await clusterFeaturesInChunks(source, this.clusterOptions(onIteration), rng);
    const outcome = this.recordRefit(Array.from(result.labels, (label) => Math.max(label, 0)), result);
    // Sizes count the images that were clustered, not those given label 0 because they could not be embedded.
    outcome.sizes.fill(0);
    for (const label of result.labels) if (label >= 0) outcome.sizes[label]!++;
    return outcome;
  }

  private clusterOptions(onIteration?: ClusterFeaturesOptions['onIteration']): ClusterFeaturesOptions {
    const { config } = this.options;
    return { k: config.k, pcaDim: config.pca_dim, maxIter: config.kmeans_max_iter, nInit: 3, onIteration };
  }

  private recordRefit(labels: number[], result: Pick<ClusterFeaturesResult, 'inertia' | 'state'>): RefitOutcome {
    const previous = this.state.labels;
    const nmi = previous.length === labels.length ? normalizedMutualInformation(previous, labels) : Number.NaN;
    const sizes = new Array<number>(this.options.config.k).fill(0);
    for (const label of labels) sizes[label]++;
    this.state = { labels, headEpoch: this.state.headEpoch };
    // The fitted scaler/PCA/k-means state assigns test images to the same clusters (assignFeatures).
    return { labels, nmi, sizes, inertia: result.inertia, state: result.state };
  }

  /** Re-initialises logit_out (kernel and bias, Glorot-uniform as the original does) once per refit epoch. */
  resetHeadIfNeeded(epoch: number, rng: Rng = this.rng): void {
    if (this.state.headEpoch >= epoch) return;
    const tf = activeTf();
    const layer = this.full.getLayer('logit_out');
    const [kernel] = layer.getWeights();
    const [fanIn, fanOut] = kernel.shape as [number, number];
    const kernelLimit = Math.sqrt(6 / (fanIn + fanOut));
    const biasLimit = Math.sqrt(3 / fanOut);
    // getWeights() hands out the layer's own variables, so they are not disposed here.
    const fresh = [
      tf.tensor2d(rng.fillUniform(new Float32Array(fanIn * fanOut), -kernelLimit, kernelLimit) as Float32Array, [fanIn, fanOut]),
      tf.tensor1d(rng.fillUniform(new Float32Array(fanOut), -biasLimit, biasLimit) as Float32Array),
    ];
    layer.setWeights(fresh);
    tf.dispose(fresh);
    this.state.headEpoch = epoch;
  }

  /**
   * The epoch's sample: for every non-empty cluster, `mult * floor(N / K)` indices drawn with replacement, then
   * shuffled (the original: stratified_training_dataset). Indices point into the run's file list.
   */
  epochSample(rng: Rng): number[] {
    const labels = this.state.labels;
    if (labels.length === 0) throw new Error('DeepCluster: no pseudo-labels yet; refit before training an epoch');
    const k = Math.max(...labels) + 1;
    const per = this.options.config.mult * Math.floor(labels.length / k);
    const members: number[][] = Array.from({ length: k }, () => []);
    labels.forEach((label, index) => members[label].push(index));
    const sample: number[] = [];
    for (const cluster of members) {
      if (cluster.length === 0) continue;
      for (let i = 0; i < Math.max(per, 1); i++) sample.push(cluster[rng.integer(0, cluster.length)]);
    }
    return rng.shuffle(sample) as number[];
  }

  async trainStep(batch: Batch, step: number): Promise<StepMetrics> {
    const tf = activeTf();
    const indices = batch.keys.map((key) => this.labelOf(key));
    this.optimizer.setLearningRate(this.learningRate(step));
    this.seedDropout(step);
    const loss = tf.tidy(() => {
      const x = tf.tensor4d(batch.images, batch.shape);
      const y = tf.oneHot(tf.tensor1d(indices, 'int32'), this.options.config.k);
      return this.optimizer.minimize(() => {
        const logits = this.full.apply(x, { training: true }) as Tensor;
        return tf.losses.softmaxCrossEntropy(y, logits) as Scalar;
      }, true, this.full.trainableWeights.map((w) => w.read() as import('@tensorflow/tfjs').Variable))!;
    });
    const value = (await loss.data())[0];
    loss.dispose();
    return { loss: value, learning_rate: this.learningRate(step) };
  }

  /**
   * tfjs's Dropout reads its `seed` when called and, left unset, draws from an unseeded global stream; a fresh
   * non-zero seed per (run seed, step, layer) makes every step's masks reproducible (0 would mean "unseeded").
   */
  private seedDropout(step: number): void {
    const stream = Rng.fromSeed(derivedSeed(this.options.seed, STREAM.dropout, step));
    for (const layer of this.dropouts) (layer as unknown as { seed: number }).seed = stream.nextUint32() || 1;
  }

  /** Pseudo-labels are stored by file-list index; batches carry keys, mapped back here. */
  private fileList = KeyList.of([]);

  setFileList(keys: KeyList | readonly string[]): void {
    this.fileList = keys instanceof KeyList ? keys : KeyList.of(keys);
  }

  private labelOf(key: string): number {
    const index = this.fileList.indexOf(key);
    if (index < 0) throw new Error(`DeepCluster: ${key} is not in the run's file list`);
    return this.state.labels[index];
  }

  dispose(): void {
    this.full.dispose();
    this.optimizer.dispose();
  }
}
