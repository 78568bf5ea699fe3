/**
 * Inputs, outputs, signals and queries of the embedding and active-learning workflows (pretraining's are in api.ts);
 * bundled into the workflow sandbox, so deterministic.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { HeadOptions } from '../ml/active/head-options.ts';

// ---- embedding ---------------------------------------------------------------------------------------------------

/** A frozen feature extractor: a pretraining run's export (runs/<run>/model/ in the store) or a user's model. */
export interface ModelRef {
  /** Pretraining run id: loads runs/<run>/model/model.json + weights.bin from the store. */
  run?: string;
  /** A tfjs LayersModel: a local model.json (or its folder), file:// or http(s) URL. */
  path?: string;
}

export interface EmbedInput {
  /** A folder or s3://bucket/prefix of images. */
  source: string;
  model: ModelRef;
  /** Input options (imshape, num_channels, norm, sobel, ...); an exported model's own options are the default. */
  input?: Record<string, unknown>;
  /** Images per embedding activity (one stored part each). */
  chunkSize?: number;
  /** Images per forward pass inside an activity. */
  batchSize?: number;
  /** Points in the TensorBoard projector (0: no projector). */
  projectorLimit?: number;
  /** Sprite cell size in pixels. */
  thumbSize?: number;
  /** How the projector pools each feature map: 'max' (default, as the original) or 'avg' (the stored embeddings). */
  projectorPooling?: 'max' | 'avg';
  /** Chunks per workflow run before it continues as new. */
  chunksPerRun?: number;
  heartbeatTimeoutMs?: number;
  carried?: EmbedCarried;
}

export interface EmbedModelInfo {
  /** sha256 (16 hex) of the model's weights (shapes and bytes): the embeddings' folder name. */
  modelHash: string;
  /** Feature dimension after global average pooling. */
  dim: number;
}

export interface EmbedPlan {
  /** Images in the source. */
  total: number;
  /** Images of the source already embedded (or found undecodable) for this model. */
  alreadyDone: number;
  /** Images to embed in this run, listed in runs/<runId>/embed/pending.txt. */
  pending: number;
  /** Index of the first part this run writes. */
  firstPart: number;
}

export interface EmbedCarried {
  model: EmbedModelInfo;
  plan: EmbedPlan;
  /** Offset into the pending list of the next chunk. */
  offset: number;
  parts: number;
  embedded: number;
  skipped: number;
  startedAt: number;
}

export interface EmbedProgress {
  phase: 'loading-model' | 'planning' | 'embedding' | 'projector' | 'done';
  total: number;
  pending: number;
  embedded: number;
  skipped: number;
}

export interface EmbedResult {
  runId: string;
  source: string;
  modelHash: string;
  dim: number;
  /** Store prefix of the parts: embeddings/<modelHash>/. */
  prefix: string;
  total: number;
  alreadyDone: number;
  /** Images embedded by this run. */
  embedded: number;
  /** Images this run could not decode (recorded, not retried). */
  skipped: number;
  /** Parts written by this run. */
  parts: number;
  /** The tracker run page of the projector (TensorBoard's Projector tab shows it), when one was written. */
  projectorDir?: string;
  projectorPoints: number;
  durationMs: number;
}

export const embedProgressQuery = defineQuery<EmbedProgress>('embedProgress');

// ---- active learning ---------------------------------------------------------------------------------------------

export const QUERY_SORTS = [
  'diverse (badge)',
  'rare first',
  'balanced uncertainty',
  'max entropy',
  'random',
] as const;

export type { HeadOptions } from '../ml/active/head-options.ts';

export interface ActiveLearningInput {
  /** Label-store project id; its image keys are the embeddings' keys (keys relative to the embedded source). */
  project: string;
  /** Embeddings to train on: embeddings/<modelHash>/ in the store (an embedWorkflow result's modelHash). */
  modelHash: string;
  /** Labels (set cells) added since the last round that start a new round without a signal. */
  minNewLabels?: number;
  /** How often the label store is polled for new labels when no tracker signal arrives (label writes signal the loop). */
  pollIntervalMs?: number;
  /** Queue ordering: one of QUERY_SORTS or a per-class sort of the labeler ('maxent: cat'); BADGE by default. */
  sort?: string;
  /** Images in a published queue. */
  queueSize?: number;
  head?: HeadOptions;
  seed?: number;
  /** Rounds per workflow run before it continues as new. */
  roundsPerRun?: number;
  heartbeatTimeoutMs?: number;
  carried?: ActiveLearningCarried;
}

export interface RoundClassMetrics {
  name: string;
  positives: number;
  negatives: number;
  /** null where undefined (no positives or no negatives): JSON has no NaN. */
  auc: number | null;
  precision: number | null;
  recall: number | null;
}

export interface RoundSummary {
  round: number;
  /** Which labelled rows the metrics were computed on: validation rows when any are labelled, else training rows. */
  evaluatedOn: 'validation' | 'train';
  classes: RoundClassMetrics[];
  meanAuc: number | null;
  /** Mean loss of the last training steps (stochastic-gradient heads); null for the logistic head. */
  trainLoss: number | null;
  /** Set label cells when the round's labels were exported. */
  labelled: number;
  predicted: number;
  /** Project images without an embedding (left out of training and prediction). */
  missingEmbeddings: number;
  /** First keys of the published queue, in order. */
  queueHead: string[];
  queueSize: number;
  /** Store key of the full queue (JSON). */
  queueKey: string;
}

export interface ActiveLearningCarried {
  rounds: number;
  labelledAtLastRound: number;
  /** The latest count the tracker signalled, and the count the last label check saw. */
  signalledLabelled?: number;
  checkedLabelled?: number;
  retrainRequested: boolean;
  stopRequested: boolean;
  last?: RoundSummary;
  lastError?: string;
}

export interface ActiveLearningStatus {
  project: string;
  /** The embeddings this loop trains on. */
  modelHash: string;
  /** Label cells added since the last round that start the next one without a signal. */
  minNewLabels: number;
  /** The queue ordering. */
  sort: string;
  phase: 'waiting' | 'fine-tuning' | 'predicting' | 'ranking' | 'publishing' | 'stopped';
  rounds: number;
  labelled: number;
  last?: RoundSummary;
  lastError?: string;
}

export interface ActiveLearningResult {
  project: string;
  rounds: number;
  last?: RoundSummary;
}

export const activeLearningStatusQuery = defineQuery<ActiveLearningStatus>('activeLearningStatus');
/** Starts a round now (when the labels allow training: at least one 0 and one 1). */
export const retrainSignal = defineSignal('retrain');
/** Sent by the tracker after label writes: the project's current count of set label cells (classes not retired). */
export const labelsChangedSignal = defineSignal<[{ labelled: number }]>('labelsChanged');
/** Ends the workflow after the running round. Same name as the pretraining stop signal. */
export const stopActiveLearningSignal = defineSignal('stop');

/** The active-learning workflow of a labeling project (one per project; `patchwork label` starts or attaches to it). */
export const activeLearningWorkflowId = (project: string) => `label-${project}`;

/** The store prefix of a model's embeddings. */
export const embeddingsPrefix = (modelHash: string) => `embeddings/${modelHash}`;
