// Inputs, outputs and the progress query of the embedding workflow. Bundled into the workflow sandbox: deterministic.
import { defineQuery } from '@temporalio/workflow';


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
  /**
   * Store the extractor's last feature map of each image unpooled ([h, w, c] rows, for the pool and convnet heads)
   * under a model hash of its own, instead of average-pooled vectors.
   */
  featureMaps?: boolean;
  /** With featureMaps: the largest h * w * c per image (default 32768); larger maps are refused. */
  maxMapValues?: number;
  heartbeatTimeoutMs?: number;
  carried?: EmbedCarried;
}

export interface EmbedModelInfo {
  /** sha256 (16 hex) of the model's weights (shapes and bytes): the embeddings' folder name. */
  modelHash: string;
  /** Feature dimension after global average pooling (h * w * c for feature maps). */
  dim: number;
  /** [h, w, c] when the embedding stores feature maps; the hash then covers the weights and this shape. */
  mapShape?: [number, number, number];
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
  /** [h, w, c] when the parts hold feature maps. */
  mapShape?: [number, number, number];
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
