// What a labeling round's head can be asked for; no tfjs here, so the CLI and the tracker's pages can check options
// without loading it.

/**
 * logistic: L-BFGS one-vs-rest on vectors (default); linear, mlp: the original's stochastic-gradient heads on vectors;
 * pool, convnet: the original's heads on feature maps (embeddings stored with `--feature-maps`).
 */
export const HEAD_KINDS = ['logistic', 'linear', 'mlp', 'pool', 'convnet'] as const;
export type HeadKind = (typeof HEAD_KINDS)[number];
/** Heads that need feature maps [h, w, c] rather than pooled vectors. */
export const MAP_HEAD_KINDS: readonly HeadKind[] = ['pool', 'convnet'];
/** The original's output models of the stochastic-gradient heads. */
export const HEAD_OUTPUTS = ['sigmoid', 'cosine'] as const;
export const HEAD_POOLINGS = ['max', 'avg'] as const;

export interface HeadOptions {
  kind?: HeadKind;
  /** MLP hidden units. */
  hidden?: number;
  /** pool and convnet heads: global pooling of the (last) feature map (default max, as the original). */
  pooling?: (typeof HEAD_POOLINGS)[number];
  /** convnet head: convolution layers (default 1), filters per layer (default 256), kernel 1 or 3 (default 1), as the original. */
  layers?: number;
  filters?: number;
  kernel?: 1 | 3;
  /** convnet head: depthwise-separable convolutions (default false). */
  separable?: boolean;
  /** convnet head: spatial dropout rate before each convolution (default 0, at most 0.95 as the original). */
  spatialDropout?: number;
  /** Stochastic-gradient heads: epochs, samples per epoch, batch size, Adam learning rate. */
  epochs?: number;
  samplesPerEpoch?: number;
  batchSize?: number;
  learningRate?: number;
  /** Stochastic-gradient heads: weight of the entropy term on unlabelled images (semi-supervised; 0 = off). */
  entropyWeight?: number;
  /** Stochastic-gradient heads: label smoothing of the known labels. */
  labelSmoothing?: number;
  /** Stochastic-gradient heads: L2 penalty on the weights. */
  weightDecay?: number;
  /** Stochastic-gradient heads: sigmoid outputs with masked cross-entropy (default) or cosine with masked MAE. */
  output?: (typeof HEAD_OUTPUTS)[number];
}

export function checkHeadOptions(options: HeadOptions): void {
  if (options.kind !== undefined && !HEAD_KINDS.includes(options.kind))
    throw new Error(
      `head kind ${JSON.stringify(options.kind)} is unknown; use one of ${HEAD_KINDS.join(', ')}`,
    );
  if (options.output !== undefined && !HEAD_OUTPUTS.includes(options.output))
    throw new Error(`head output ${JSON.stringify(options.output)} is unknown; use one of ${HEAD_OUTPUTS.join(', ')}`);
  if (options.pooling !== undefined && !HEAD_POOLINGS.includes(options.pooling))
    throw new Error(`head pooling ${JSON.stringify(options.pooling)} is unknown; use one of ${HEAD_POOLINGS.join(', ')}`);
  if (options.kernel !== undefined && options.kernel !== 1 && options.kernel !== 3)
    throw new Error(`head kernel must be 1 or 3, got ${options.kernel}`);
  for (const name of ['hidden', 'layers', 'filters', 'epochs', 'samplesPerEpoch', 'batchSize'] as const) {
    const v = options[name];
    if (v !== undefined && !(Number.isInteger(v) && v >= 1))
      throw new Error(`head ${name} must be a whole number >= 1, got ${v}`);
  }
  for (const name of ['entropyWeight', 'labelSmoothing', 'weightDecay', 'spatialDropout'] as const) {
    const v = options[name];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0))
      throw new Error(`head ${name} must be a number >= 0, got ${v}`);
  }
  if (options.labelSmoothing !== undefined && options.labelSmoothing >= 1)
    throw new Error(`head labelSmoothing must be below 1, got ${options.labelSmoothing}`);
  if (options.spatialDropout !== undefined && options.spatialDropout > 0.95)
    throw new Error(`head spatialDropout must be at most 0.95, got ${options.spatialDropout}`);
  if (options.learningRate !== undefined && !(Number.isFinite(options.learningRate) && options.learningRate > 0))
    throw new Error(`head learningRate must be a number > 0, got ${options.learningRate}`);
}
