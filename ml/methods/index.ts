// One entry point for the three self-supervised methods: parse a method's config and build its trainer.
import type { LayersModel } from '@tensorflow/tfjs';
import type { AugmentParams } from '../data/index.ts';
import { Rng } from '../rng.ts';
import {
  ContextEncoderTrainer,
  contextEncoderSchema,
  parseContextEncoderConfig,
  type ContextEncoderConfig,
} from './context-encoder.ts';
import {
  DeepClusterTrainer,
  deepClusterSchema,
  parseDeepClusterConfig,
  type DeepClusterConfig,
} from './deepcluster.ts';
import { IicTrainer, iicSchema, parseIicConfig, type IicConfig } from './iic.ts';
import { METHODS, type MethodName, type Trainer } from './types.ts';

export { METHODS, type MethodName, type StepMetrics, type Trainer } from './types.ts';
export { ContextEncoderTrainer, registerChannelWiseDense } from './context-encoder.ts';
export { DeepClusterTrainer } from './deepcluster.ts';
export { IicTrainer, iicLoss } from './iic.ts';

export interface MethodConfigs {
  deepcluster: DeepClusterConfig;
  iic: IicConfig;
  'context-encoder': ContextEncoderConfig;
}

export const METHOD_SCHEMAS = {
  deepcluster: deepClusterSchema,
  iic: iicSchema,
  'context-encoder': contextEncoderSchema,
} as const;

export function isMethodName(value: unknown): value is MethodName {
  return typeof value === 'string' && (METHODS as readonly string[]).includes(value);
}

export function checkMethodName(value: unknown): MethodName {
  if (!isMethodName(value)) {
    throw new Error(`method: unknown method ${JSON.stringify(value)}; allowed: ${METHODS.join(', ')}`);
  }
  return value;
}

/** The method's config with defaults filled in; errors name the field, e.g. "iic.k: ...". */
export function parseMethodConfig<M extends MethodName>(method: M, value: unknown): MethodConfigs[M];
export function parseMethodConfig(method: string, value: unknown): MethodConfigs[MethodName];
export function parseMethodConfig(method: string, value: unknown): MethodConfigs[MethodName] {
  switch (checkMethodName(method)) {
    case 'deepcluster':
      return parseDeepClusterConfig(value);
    case 'iic':
      return parseIicConfig(value);
    case 'context-encoder':
      return parseContextEncoderConfig(value);
  }
}

export interface CreateTrainerOptions {
  /** The method's config, raw (parsed here) or already parsed. */
  config?: unknown;
  /** [H, W, C] of the training input (C = 3 when sobel is on). */
  inputShape: [number, number, number];
  /** The FCN to train; each method has its default (bnAlexNetFcn, or the context encoder's encoder). */
  fcn?: LayersModel;
  /** The trainer's random stream (DeepCluster head re-init, IIC views, context-encoder masks); default from `seed`. */
  rng?: Rng;
  /** The run's seed: the default `rng` and DeepCluster's per-step dropout masks derive from it. */
  seed?: number;
  /** IIC's augmentation for the second view (default: the original's `augment: true` parameters). */
  augment?: AugmentParams;
  /** IIC: pairs per training step (a run's batch_size); default every image of a batch r times. */
  pairsPerStep?: number;
}

export function createTrainer(method: string, options: CreateTrainerOptions): Trainer {
  const name = checkMethodName(method);
  const rng = options.rng ?? Rng.fromSeed(options.seed ?? 0);
  const { inputShape, fcn } = options;
  checkInputShape(inputShape);
  switch (name) {
    case 'deepcluster':
      return new DeepClusterTrainer({ config: parseDeepClusterConfig(options.config), inputShape, fcn, rng, seed: options.seed ?? 0 });
    case 'iic':
      return new IicTrainer({
        config: parseIicConfig(options.config),
        inputShape,
        fcn,
        rng,
        augment: options.augment,
        pairsPerStep: options.pairsPerStep,
      });
    case 'context-encoder':
      return new ContextEncoderTrainer({
        config: parseContextEncoderConfig(options.config),
        inputShape,
        fcn,
        rng,
      });
  }
}

function checkInputShape(shape: unknown): void {
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((v) => Number.isInteger(v) && v > 0)) {
    throw new Error(
      `inputShape must be [height, width, channels], three positive integers; got ${JSON.stringify(shape)}`,
    );
  }
}
