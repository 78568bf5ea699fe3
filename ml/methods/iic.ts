// Invariant Information Clustering (Ji et al. 2019), after the original's implementation, with its bugs fixed:
//
// - Pairs: view 1 is each image of the batch as it arrives; view 2 is `augmentImage` of a copy of it, drawn from the
//   trainer's own rng. Feed IIC *unaugmented* batches (pipeline `augment: false`) to get the original's intended
//   (plain, augmented) pairs; with pipeline augmentation on, view 1 is augmented and view 2 is augmented twice. Each
//   image is repeated `r` times, every repeat with its own view 2; with `pairsPerStep` (a run's batch_size) the
//   repeats are cut to that many pairs, as the original's batches of its repeated stream. Unlike the original (tf.data
//   zip bug), the two views of a pair always come from the same image.
// - Network: FCN (default bnAlexNetFcn) -> global average pool -> `h` main sub-heads Dense(k, softmax) and `h`
//   over-clustering sub-heads Dense(k_oc, softmax) (the paper's 5 + 5; the original had only one
//   over-clustering head). The heads are trained (the original left them out of its variable list), and the FCN runs
//   in training mode (BN batch statistics), both views through one call.
// - Loss per sub-head: P = mean_b outer(z1_b, z2_b), symmetrised, clamped to >= eps, normalised to sum 1;
//   loss = -sum P (log P - log P_i - log P_j) = -MI (nats), minus entropy_weight * H(P_j) when that is > 0.
//   A group's loss is the sum over its sub-heads.
// - head_schedule 'alternate' (default): even global steps train the main group with the `main` Adam, odd steps the
//   over-clustering group with the `over` Adam (the original alternated whole epochs; alternating steps keeps one
//   code path for any epoch length and lets a resumed run continue by step parity alone). 'sum': every step
//   minimises main + over with the `main` Adam. The lr schedule uses the global step for both optimizers (the
//   original used each optimizer's own step count, i.e. about half the global step).
import type {
  LayersModel,
  Optimizer,
  Scalar,
  SymbolicTensor,
  Tensor,
  Tensor2D,
  Variable,
} from '@tensorflow/tfjs';
import { z } from 'zod';
import { activeTf } from '../backend.ts';
import { augmentImage, AUGMENT_DEFAULTS, type AugmentParams, type Batch } from '../data/index.ts';
import { parseOrThrow } from '../data/options.ts';
import { bnAlexNetFcn } from '../models/index.ts';
import { Rng } from '../rng.ts';
import { decayedLearningRate } from './schedule.ts';
import type { StepMetrics, Trainer } from './types.ts';

/** Keras epsilon, as the original clamps P with. */
export const IIC_EPS = 1e-7;

const iicFields = z
  .object({
    /** Clusters of the main heads. */
    k: z.number().int().min(2).default(10),
    /** Clusters of the over-clustering heads. */
    k_oc: z.number().int().min(2).default(25),
    /** Sub-heads per group (the paper's 5). */
    h: z.number().int().positive().default(5),
    /** Times each image is repeated in a batch, each with its own augmented view. */
    r: z.number().int().positive().default(5),
    entropy_weight: z.number().min(0).default(0),
    head_schedule: z.enum(['alternate', 'sum']).default('alternate'),
    lr: z.number().positive().default(1e-4),
    /** Half-life of the learning rate in steps; 0 means constant (as DeepCluster's). */
    lr_decay: z.number().min(0).default(100000),
  })
  .strict();

/** Longer names this port used before it took the original's; still accepted, one name per option. */
export const IIC_ALIASES = { k_over: 'k_oc', num_sub_heads: 'h', repeats: 'r' } as const;

function renameAliases(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const renamed: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [alias, name] of Object.entries(IIC_ALIASES)) {
    if (alias in renamed && !(name in renamed)) {
      renamed[name] = renamed[alias];
      delete renamed[alias];
    }
  }
  return renamed;
}

/** The original's names and defaults (k, k_oc, h, r, entropy_weight, lr, lr_decay) plus head_schedule. */
export const iicSchema = z.preprocess(renameAliases, iicFields);
export type IicConfig = z.output<typeof iicFields>;

export function parseIicConfig(value: unknown): IicConfig {
  if (value !== null && typeof value === 'object') {
    for (const [alias, name] of Object.entries(IIC_ALIASES)) {
      if (alias in value && name in value) {
        throw new Error(`invalid iic options:\n  iic.${alias}: ${alias} is another name for ${name}; give only one of them`);
      }
    }
  }
  return parseOrThrow(iicSchema, value ?? {}, 'iic');
}

export interface IicLossParts {
  /** -MI - entropy_weight * H (scalar). */
  loss: Scalar;
  /** H = -sum P log P_j. */
  entropy: Scalar;
  /** H_c = -sum P (log P - log P_i). */
  conditionalEntropy: Scalar;
}

/** Symmetrised joint of two [B, k] softmax outputs: (Z1^T Z2 + Z2^T Z1) / (2B), no clamp (what `evaluate` images). */
export function iicJoint(z1: Tensor2D, z2: Tensor2D): Tensor2D {
  const tf = activeTf();
  return tf.tidy(() => {
    const p = tf.div(tf.matMul(z1, z2, true, false), z1.shape[0]) as Tensor2D;
    return tf.div(tf.add(p, tf.transpose(p)), 2) as Tensor2D;
  });
}

/** The IIC mutual-information loss of one head (see the file comment). Differentiable; call inside tidy. */
export function iicLoss(z1: Tensor2D, z2: Tensor2D, entropyWeight = 0, eps = IIC_EPS): IicLossParts {
  const tf = activeTf();
  let p = tf.maximum(iicJoint(z1, z2), eps) as Tensor2D;
  p = tf.div(p, tf.sum(p)) as Tensor2D;
  const pi = tf.sum(p, 0, true); // [1, k]: column sums
  const pj = tf.sum(p, 1, true); // [k, 1]: row sums
  const logP = tf.log(p);
  const conditionalEntropy = tf.neg(tf.sum(tf.mul(p, tf.sub(logP, tf.log(pi))))) as Scalar;
  const entropy = tf.neg(tf.sum(tf.mul(p, tf.log(pj)))) as Scalar;
  let loss = tf.sub(conditionalEntropy, entropy) as Scalar; // -MI
  if (entropyWeight > 0) loss = tf.sub(loss, tf.mul(entropy, entropyWeight)) as Scalar;
  return { loss, entropy, conditionalEntropy };
}

export interface IicOptions {
  config: IicConfig;
  /** [H, W, C] of the training input. */
  inputShape: [number, number, number];
  fcn?: LayersModel;
  /** Parameters for view 2; default AUGMENT_DEFAULTS (the original asserts that augmentation is on). */
  augment?: AugmentParams;
  /** Draws view 2's augmentation (the trainer's `rng`, saved by the checkpoint); default Rng.fromSeed(seed ?? 0). */
  rng?: Rng;
  seed?: number;
  /**
   * Pairs per training step: the repeated batch is cut to this many, as the original's batch_size pairs of its
   * repeated stream. Default: every image of the batch r times.
   */
  pairsPerStep?: number;
}

type Group = 'main' | 'over';
type AdamWithLr = Optimizer & { learningRate: number };

export class IicTrainer implements Trainer {
  readonly method = 'iic' as const;
  readonly fcn: LayersModel;
  /** Input -> [main sub-heads..., over-clustering sub-heads...], each [B, k] softmax. */
  readonly full: LayersModel;
  /** Argmax counts per head of the last step's view 1, by metric prefix (`head_0`, `oc_head_0`, ...). */
  lastClusterSizes: Record<string, number[]> = {};
  private readonly optimizers: Record<Group, AdamWithLr>;
  private readonly augment: AugmentParams;
  rng: Rng;
  private baseLr: number;

  constructor(private readonly options: IicOptions) {
    const tf = activeTf();
    const { config, inputShape } = options;
    this.fcn = options.fcn ?? bnAlexNetFcn({ channels: inputShape[2] });
    this.augment = options.augment ?? { ...AUGMENT_DEFAULTS };
    this.rng = options.rng ?? Rng.fromSeed(options.seed ?? 0);
    const input = tf.input({ shape: inputShape, name: 'iic_input' });
    const features = tf.layers
      .globalAveragePooling2d({ name: 'iic_gap' })
      .apply(this.fcn.apply(input) as SymbolicTensor) as SymbolicTensor;
    const heads: SymbolicTensor[] = [];
    for (const [prefix, units] of [
      ['iic_head', config.k],
      ['iic_oc_head', config.k_oc],
    ] as const) {
      for (let i = 0; i < config.h; i++) {
        heads.push(
          tf.layers
            .dense({ units, activation: 'softmax', name: `${prefix}_${i}` })
            .apply(features) as SymbolicTensor,
        );
      }
    }
    this.full = tf.model({ inputs: input, outputs: heads, name: 'iic' });
    this.baseLr = config.lr;
    this.optimizers = {
      main: tf.train.adam(config.lr) as unknown as AdamWithLr,
      over: tf.train.adam(config.lr) as unknown as AdamWithLr,
    };
  }

  parts() {
    return {
      models: { model: this.full },
      optimizers: { main: this.optimizers.main as Optimizer, over: this.optimizers.over as Optimizer },
    };
  }

  exportedModels(): Record<string, LayersModel> {
    return { full: this.full };
  }

  featureExtractor(): LayersModel {
    return this.fcn;
  }

  /** Weight of the marginal-entropy term in the training loss; evaluation losses use the same one. */
  get entropyWeight(): number {
    return this.options.config.entropy_weight;
  }

  learningRate(step: number): number {
    return decayedLearningRate(this.baseLr, this.options.config.lr_decay, step);
  }

  setBaseLearningRate(lr: number): void {
    this.baseLr = lr;
  }

  /** IIC has no state besides weights, optimizers and `rng` (which the checkpoint saves itself). */
  methodState(): Record<string, unknown> {
    return {};
  }

  loadMethodState(_state: Record<string, unknown>): void {}

  /** The group a step trains: alternate by step parity, or both when head_schedule is 'sum'. */
  groupsFor(step: number): Group[] {
    if (this.options.config.head_schedule === 'sum') return ['main', 'over'];
    return step % 2 === 0 ? ['main'] : ['over'];
  }

  /** View 1 (the batch, each image repeated) and view 2 (each repeat augmented separately), both [min(B*r, maxPairs), H, W, C]. */
  makeViews(batch: Batch, maxPairs = Number.POSITIVE_INFINITY): {
    view1: Float32Array;
    view2: Float32Array;
    shape: [number, number, number, number];
  } {
    const [b, h, w, c] = batch.shape;
    const r = this.options.config.r;
    const size = h * w * c;
    const pairs = Math.min(b * r, maxPairs);
    const view1 = new Float32Array(pairs * size);
    const view2 = new Float32Array(pairs * size);
    for (let i = 0; i < b; i++) {
      const src = batch.images.subarray(i * size, (i + 1) * size);
      for (let j = 0; j < r && i * r + j < pairs; j++) {
        const at = (i * r + j) * size;
        view1.set(src, at);
        const out = augmentImage(
          { data: Float32Array.from(src), height: h, width: w, channels: c },
          this.augment,
          this.rng,
        );
        if (out.height !== h || out.width !== w || out.channels !== c) {
          throw new Error(
            `IIC: augmentation changed the image shape from ${h}x${w}x${c} to ${out.height}x${out.width}x${out.channels}`,
          );
        }
        view2.set(out.data, at);
      }
    }
    return { view1, view2, shape: [pairs, h, w, c] };
  }

  private variablesFor(groups: Group[]): Variable[] {
    const { h } = this.options.config;
    const layers = this.fcn.trainableWeights.slice();
    for (const group of groups) {
      for (let i = 0; i < h; i++) {
        layers.push(
          ...this.full.getLayer(`${group === 'main' ? 'iic_head' : 'iic_oc_head'}_${i}`).trainableWeights,
        );
      }
    }
    return layers.map((w) => w.read() as Variable);
  }

  async trainStep(batch: Batch, step: number): Promise<StepMetrics> {
    const tf = activeTf();
    const { config } = this.options;
    const groups = this.groupsFor(step);
    const optimizer = this.optimizers[groups.length === 2 ? 'main' : groups[0]!];
    const lr = this.learningRate(step);
    optimizer.learningRate = lr;
    const { view1, view2, shape } = this.makeViews(batch, this.options.pairsPerStep);
    const n = shape[0];
    const names = [
      ...Array.from({ length: config.h }, (_, i) => `head_${i}`),
      ...Array.from({ length: config.h }, (_, i) => `oc_head_${i}`),
    ];
    const kept: Record<string, { loss: Tensor; entropy: Tensor; conditional: Tensor; argmax: Tensor }> = {};
    const total = tf.tidy(() => {
      const x = tf.concat([tf.tensor4d(view1, shape), tf.tensor4d(view2, shape)], 0);
      return optimizer.minimize(
        () => {
          const outputs = this.full.apply(x, { training: true }) as Tensor2D[];
          let sum: Tensor = tf.scalar(0);
          outputs.forEach((out, i) => {
            const z1 = out.slice([0, 0], [n, -1]);
            const z2 = out.slice([n, 0], [n, -1]);
            const parts = iicLoss(z1, z2, config.entropy_weight);
            const group: Group = i < config.h ? 'main' : 'over';
            if (groups.includes(group)) sum = tf.add(sum, parts.loss);
            kept[names[i]!] = {
              loss: tf.keep(parts.loss),
              entropy: tf.keep(parts.entropy),
              conditional: tf.keep(parts.conditionalEntropy),
              argmax: tf.keep(tf.argMax(z1, 1)),
            };
          });
          return sum as Scalar;
        },
        true,
        this.variablesFor(groups),
      )!;
    });
    const metrics: StepMetrics = { loss: (await total.data())[0]!, learning_rate: lr };
    total.dispose();
    const groupSums: Record<Group, { loss: number; entropy: number; conditional: number }> = {
      main: { loss: 0, entropy: 0, conditional: 0 },
      over: { loss: 0, entropy: 0, conditional: 0 },
    };
    this.lastClusterSizes = {};
    for (const [i, name] of names.entries()) {
      const t = kept[name]!;
      const [loss, entropy, conditional, argmax] = await Promise.all([
        t.loss.data(),
        t.entropy.data(),
        t.conditional.data(),
        t.argmax.data(),
      ]);
      tf.dispose([t.loss, t.entropy, t.conditional, t.argmax]);
      const group: Group = i < config.h ? 'main' : 'over';
      const k = group === 'main' ? config.k : config.k_oc;
      const sizes = new Array<number>(k).fill(0);
      for (const label of argmax) sizes[label]!++;
      this.lastClusterSizes[name] = sizes;
      metrics[`${name}_loss`] = loss[0]!;
      metrics[`${name}_clusters_used`] = sizes.filter((s) => s > 0).length;
      metrics[`${name}_largest_cluster`] = Math.max(...sizes) / n;
      groupSums[group].loss += loss[0]!;
      groupSums[group].entropy += entropy[0]! / config.h;
      groupSums[group].conditional += conditional[0]! / config.h;
    }
    // The original's tags: model_loss / entropy / conditional_entropy and oc_* for the over-clustering group.
    metrics.model_loss = groupSums.main.loss;
    metrics.entropy = groupSums.main.entropy;
    metrics.conditional_entropy = groupSums.main.conditional;
    metrics.ocmodel_loss = groupSums.over.loss;
    metrics.oc_entropy = groupSums.over.entropy;
    metrics.oc_conditional_entropy = groupSums.over.conditional;
    return metrics;
  }

  /**
   * Per head, the symmetrised joint P of (image, augmented image) over `batch` (no clamp, no renormalisation), divided
   * by its max, as the original's `P_head_i` / `P_oc_head_i` images: [k, k] row-major values in [0, 1].
   */
  async jointImages(batch: Batch): Promise<Record<string, { values: Float32Array; k: number }>> {
    const tf = activeTf();
    const { config } = this.options;
    const { view1, view2, shape } = this.makeViews(batch);
    const joints = tf.tidy(() => {
      const o1 = this.full.predict(tf.tensor4d(view1, shape)) as Tensor2D[];
      const o2 = this.full.predict(tf.tensor4d(view2, shape)) as Tensor2D[];
      return o1.map((z1, i) => {
        const p = iicJoint(z1, o2[i]!);
        return tf.div(p, tf.max(p));
      });
    });
    const out: Record<string, { values: Float32Array; k: number }> = {};
    for (const [i, joint] of joints.entries()) {
      const name = i < config.h ? `P_head_${i}` : `P_oc_head_${i - config.h}`;
      out[name] = { values: (await joint.data()) as Float32Array, k: joint.shape[0]! };
      joint.dispose();
    }
    return out;
  }

  dispose(): void {
    this.full.dispose();
    this.optimizers.main.dispose();
    this.optimizers.over.dispose();
  }
}
