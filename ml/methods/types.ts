// The one shape every self-supervised method has, so one activity runs them all.
import type { LayersModel, Optimizer } from '@tensorflow/tfjs';
import type { Batch } from '../data/index.ts';
import type { Rng } from '../rng.ts';
import type { MethodName } from './names.ts';

export { METHODS, type MethodName } from './names.ts';

/** Scalars to log, by tag. */
export type StepMetrics = Record<string, number>;

export interface Trainer {
  readonly method: MethodName;
  /** The trainer's own random stream (masks, views, head re-init); its state is saved in every checkpoint. */
  rng: Rng;
  /**
   * What a checkpoint must hold: every model and optimizer, by a stable name. The main network must be named
   * `model` (ml/checkpoint.ts requires it); others (discriminator...) under their own names.
   */
  parts(): { models: Record<string, LayersModel>; optimizers: Record<string, Optimizer> };
  /** The fully convolutional feature extractor being trained (what `embed` and downstream tests use). */
  featureExtractor(): LayersModel;
  /** Every trained network a finished run exports besides the extractor, by the name the original saved it under. */
  exportedModels(): Record<string, LayersModel>;
  /** One optimizer step on one batch; `step` is the global step (0-based) the batch belongs to. */
  trainStep(batch: Batch, step: number): Promise<StepMetrics>;
  /** Learning rate in effect at `step` (after any decay and any override). */
  learningRate(step: number): number;
  /** Replaces the base learning rate from now on (the change-learning-rate signal). */
  setBaseLearningRate(lr: number): void;
  /** Method state that is not weights (pseudo-labels, head epoch...), as plain JSON for the checkpoint. */
  methodState(): Record<string, unknown>;
  /** Puts back what methodState() returned, when resuming from a checkpoint. */
  loadMethodState(state: Record<string, unknown>): void;
  dispose(): void;
}
