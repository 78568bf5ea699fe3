// What a labeling round's head can be asked for; no tfjs here, so the CLI can check options without loading it.

export const HEAD_KINDS = ['logistic', 'linear', 'mlp'] as const;
export type HeadKind = (typeof HEAD_KINDS)[number];
/** The original's output models of the stochastic-gradient heads. */
export const HEAD_OUTPUTS = ['sigmoid', 'cosine'] as const;

export interface HeadOptions {
  kind?: HeadKind;
  /** MLP hidden units. */
  hidden?: number;
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
  for (const name of ['entropyWeight', 'labelSmoothing', 'weightDecay'] as const) {
    const v = options[name];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0))
      throw new Error(`head ${name} must be a number >= 0, got ${v}`);
  }
  if (options.labelSmoothing !== undefined && options.labelSmoothing >= 1)
    throw new Error(`head labelSmoothing must be below 1, got ${options.labelSmoothing}`);
}
