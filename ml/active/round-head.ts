// The head a labeling round fits and later rounds, the predictions and the queue reload: the default 'logistic'
// (logistic-head.ts) or the original's stochastic-gradient heads 'linear' and 'mlp' (head.ts), behind one surface.
import { Head, type HeadState } from './head.ts';
import { LogisticHead, type LogisticHeadState } from './logistic-head.ts';
import type { LabelTable } from './table.ts';
import { Rng } from '../rng.ts';
import { checkHeadOptions, type HeadOptions } from './head-options.ts';

export { HEAD_KINDS, HEAD_OUTPUTS, checkHeadOptions, type HeadKind, type HeadOptions } from './head-options.ts';

export type RoundHeadState = LogisticHeadState | HeadState;

export interface RoundHead {
  predict(features: Float32Array): Float32Array;
  embed(features: Float32Array): { data: Float32Array; dim: number };
  toJSON(): RoundHeadState;
  dispose(): void;
}

export interface FittedHead {
  head: RoundHead;
  /** Mean training loss over the last tenth of the steps (stochastic heads); null for the logistic head. */
  trainLoss: number | null;
}

const isLogistic = (state: RoundHeadState): state is LogisticHeadState =>
  (state as LogisticHeadState).kind === 'logistic';

export function loadRoundHead(state: RoundHeadState): RoundHead {
  return isLogistic(state) ? LogisticHead.fromJSON(state) : Head.fromJSON(state);
}

/**
 * Fits the round's head on every embedded image's features [table.n, d] and the table's labels. A stochastic-gradient
 * head continues from `previous` when it has the same kind, dimension and classes.
 */
export function fitRoundHead(input: {
  features: Float32Array;
  table: LabelTable;
  options: HeadOptions;
  seed: number;
  previous?: RoundHeadState & { classes?: string[] };
}): FittedHead {
  const { features, table, options, seed } = input;
  checkHeadOptions(options);
  const kind = options.kind ?? 'logistic';
  if (kind === 'logistic') return { head: LogisticHead.fit(features, table, { seed }), trainLoss: null };
  if (kind === 'pool' || kind === 'convnet') throw new Error(`a ${kind} head needs feature maps, which rounds cannot train on yet`);
  const dim = features.length / Math.max(table.n, 1);
  const previous = input.previous;
  let head: Head | undefined;
  if (
    previous &&
    !isLogistic(previous) &&
    previous.config.kind === kind &&
    previous.config.inputDim === dim &&
    JSON.stringify(previous.classes) === JSON.stringify(table.classes)
  )
    head = Head.fromJSON(previous);
  head ??= Head.create({
    kind,
    inputDim: dim,
    numClasses: table.classes.length,
    hidden: options.hidden,
    seed,
    learningRate: options.learningRate,
    output: options.output,
  });
  const result = head.train(features, table, {
    epochs: options.epochs,
    samplesPerEpoch: options.samplesPerEpoch,
    batchSize: options.batchSize,
    entropyWeight: options.entropyWeight,
    labelSmoothing: options.labelSmoothing,
    weightDecay: options.weightDecay,
    rng: Rng.fromSeed(seed),
  });
  const tail = result.losses.slice(-Math.max(1, Math.floor(result.losses.length / 10)));
  return { head, trainLoss: tail.reduce((a, b) => a + b, 0) / tail.length };
}
