// The computations of a labeling round that depend on its settings: fitting the head and ranking the queue. The
// round's activities and `patchwork label replay` both call these, so a replay computes exactly what the round did.
import { pickIndices, type Pick } from './query.ts';
import { fitRoundHead, type FittedHead, type HeadOptions, type RoundHead, type RoundHeadState } from './round-head.ts';
import type { LabelTable } from './table.ts';
import { Rng } from '../rng.ts';

/** Every round draws from its own stream of the loop's seed. */
export const roundSeed = (seed: number, round: number) => seed * 1000 + round;

export function fitRound(input: {
  features: Float32Array;
  table: LabelTable;
  head: HeadOptions;
  seed: number;
  round: number;
  previous?: RoundHeadState & { classes?: string[] };
  /** [h, w, c] when the features are feature maps (EmbeddingTable.mapShape). */
  mapShape?: [number, number, number];
}): FittedHead {
  return fitRoundHead({
    features: input.features,
    table: input.table,
    options: input.head,
    seed: roundSeed(input.seed, input.round),
    previous: input.previous,
    mapShape: input.mapShape,
  });
}

/** The unlabelled, not excluded images of `table` in `sort` order (BADGE uses the head's last-layer inputs). */
export function rankRound(input: {
  head: RoundHead;
  features: Float32Array;
  table: LabelTable;
  probs: Float32Array;
  sort: string;
  queueSize: number;
  seed: number;
  round: number;
}): Pick {
  const embedding = input.sort === 'diverse (badge)' ? input.head.embed(input.features) : undefined;
  return pickIndices(input.table, {
    subset: 'unlabeled',
    sort: input.sort,
    count: input.queueSize,
    rng: Rng.fromSeed(roundSeed(input.seed, input.round)),
    probs: input.probs,
    embedding,
  });
}
