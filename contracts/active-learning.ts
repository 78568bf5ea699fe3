// Inputs, outputs, signals and queries of the active-learning workflow. Bundled into the workflow sandbox: deterministic.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { HeadOptions } from '../ml/active/head-options.ts';
import type { RoundClassMetrics } from '../ml/active/round-evaluation.ts';


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

export type { RoundClassMetrics };

export interface RoundSummary {
  round: number;
  /** Which labelled rows the metrics were computed on: validation rows when any are labelled, else training rows. */
  evaluatedOn: 'validation' | 'train';
  classes: RoundClassMetrics[];
  meanAuc: number | null;
  /** Mean loss of the last training steps (stochastic-gradient heads); null for the logistic head. */
  trainLoss: number | null;
  /**
   * False for a round that a retrain request asked to fit only: its head (and per-step losses) are stored, but
   * nothing was predicted, ranked or published; the classes, AUC and queue fields then repeat the round before.
   */
  predictionsUpdated?: boolean;
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
  /** The head a retrain request chose: the loop's head from then on, instead of the input's. */
  head?: HeadOptions;
  /** The requested round fits the head only (a retrain request with updatePredictions: false). */
  fitOnly?: boolean;
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
  /** The head the next round fits: the last retrain request's, else the input's. */
  head?: HeadOptions;
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
/** What a retrain signal may ask for besides a round now. */
export interface RetrainRequest {
  /** The head this round and every later one fits (replaces the loop's head settings). */
  head?: HeadOptions;
  /** false: this round fits and stores the head only, keeping the published predictions and queue (default true). */
  updatePredictions?: boolean;
}

/** Starts a round now (when the labels allow training: at least one 0 and one 1); older senders send no payload. */
export const retrainSignal = defineSignal<[RetrainRequest?]>('retrain');
/** Sent by the tracker after label writes: the project's current count of set label cells (classes not retired). */
export const labelsChangedSignal = defineSignal<[{ labelled: number }]>('labelsChanged');
/** Ends the workflow after the running round. Same name as the pretraining stop signal. */
export const stopActiveLearningSignal = defineSignal('stop');

/** The active-learning workflow of a labeling project (one per project; `patchwork label` starts or attaches to it). */
export const activeLearningWorkflowId = (project: string) => `label-${project}`;
