// Inputs, outputs, signals and queries of the pretraining workflow. Bundled into the workflow sandbox: deterministic.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { MethodName as PretrainMethod } from '../ml/methods/names.ts';

export { METHODS as PRETRAIN_METHODS, type MethodName as PretrainMethod } from '../ml/methods/names.ts';

/**
 * Without stepsPerActivity, a training activity trains for about this long (never past its epoch's end) and ends with
 * a checkpoint: a killed worker's successor redoes at most this much training, and signals wait at most this long.
 */
export const DEFAULT_SECONDS_PER_ACTIVITY = 30;

export interface PretrainInput {
  method: PretrainMethod;
  /** A folder or s3://bucket/prefix of training images. */
  images: string;
  /** Input, augmentation and method options (validated by the prepare activity; errors name the field). */
  config?: Record<string, unknown>;
  /** Optional CSV (filepath,label) for downstream monitoring at the end of every epoch. */
  labels?: string;
  /**
   * Start the feature extractor from a user's model instead of random weights: a tfjs model.json (path or URL) or a
   * Keras .h5 file, fully convolutional. The first activity copies it into the run's store folder.
   */
  initialModel?: string;
  /** Optional folder or s3:// location of test images: out-of-sample losses (and inpaintings) every epoch. */
  testImages?: string;
  /** Embed every training image with the exported model after training (child embedWorkflow); default true. */
  embed?: boolean;
  epochs: number;
  seed?: number;
  /**
   * Steps per training activity (never past an epoch's end); a checkpoint is written at the end of each. Default: no
   * step limit, an activity trains for secondsPerActivity.
   */
  stepsPerActivity?: number;
  /**
   * A training activity ends (with a checkpoint) at the first step after this many seconds of training. Default:
   * DEFAULT_SECONDS_PER_ACTIVITY without stepsPerActivity, none with it.
   */
  secondsPerActivity?: number;
  /** Extra checkpoints inside an activity, every this many steps (default: only at the activity's end). */
  checkpointEvery?: number;
  /** Training activities per workflow run before it continues as new. */
  activitiesPerRun?: number;
  heartbeatTimeoutMs?: number;
  carried?: PretrainCarried;
}

export interface PretrainPlan {
  files: number;
  stepsPerEpoch: number;
  /** Images loaded per step (IIC: ceil(batch_size / r), repeated to batch_size pairs); missing in older plans: batch_size. */
  imagesPerStep?: number;
  totalSteps: number;
  /** Epochs between k-means refits: 1 for DeepCluster (whose epoch is already mult * N samples), 0 for other methods. */
  refitEvery: number;
  hasLabels: boolean;
  /** Test images used for out-of-sample losses (0: none; missing in plans made before test images existed). */
  testFiles?: number;
}

export interface PretrainCarried {
  plan: PretrainPlan;
  step: number;
  epoch: number;
  lr?: number;
  paused: boolean;
  stopRequested: boolean;
  lastMetrics: Record<string, number>;
  startedAt: number;
  refittedEpoch: number;
  evaluatedEpoch: number;
  testedEpoch?: number;
}

export interface PretrainProgress {
  phase: 'preparing' | 'refitting' | 'training' | 'evaluating' | 'paused' | 'exporting' | 'embedding' | 'done' | 'stopped';
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  losses: Record<string, number>;
  learningRate?: number;
  /** Seconds left at the recent pace; undefined until there is a pace. */
  etaSeconds?: number;
}

export interface PretrainResult {
  runId: string;
  steps: number;
  epochs: number;
  stopped: boolean;
  /** Store key of the exported feature extractor (tfjs model.json + weights). */
  modelKey: string;
  lastMetrics: Record<string, number>;
  /** The embedding of the training images with the exported model (absent with embed: false). */
  embeddings?: { workflowId: string; modelHash: string; prefix: string; total: number; embedded: number };
}

export const pretrainProgressQuery = defineQuery<PretrainProgress>('pretrainProgress');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Stops at the next checkpoint (the end of the running training activity) and exports the model. */
export const stopSignal = defineSignal('stop');
/** Sets the base learning rate from the next training activity on. */
export const setLearningRateSignal = defineSignal<[number]>('setLearningRate');
