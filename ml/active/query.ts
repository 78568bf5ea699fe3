// Query orderings and subsets of the original labeler (_labeler.py), plus a diversity-aware
// batch method (BADGE). Pure JS over LabelTable and predicted probabilities.
import type { Rng } from '../rng.ts';
import { balancedUncertainty } from './balanced.ts';
import { badgeSelect } from './diversity.ts';
import { positiveCounts, rareFirst } from './rare-first.ts';
import { checkTable, type LabelTable } from './table.ts';

export const GLOBAL_SUBSETS = [
  'unlabeled',
  'fully labeled',
  'partially labeled',
  'excluded',
  'not excluded',
  'validation',
] as const;
export const CLASS_SUBSETS = ['unlabeled', 'contains', "doesn't contain"] as const;
export const GLOBAL_SORTS = ['random', 'max entropy', 'diverse (badge)'] as const;
export const CLASS_SORTS = ['high', 'low', 'maxent'] as const;
/** Sorts for active-learning queues that the labeler's menu does not offer. */
export const QUEUE_SORTS = ['rare first', 'balanced uncertainty'] as const;

/** Menu entries in the original's order: global entries, then `<kind>: <class>` for each class. */
export function subsetOptions(classes: string[]): string[] {
  return [...GLOBAL_SUBSETS, ...classes.flatMap((c) => CLASS_SUBSETS.map((s) => `${s}: ${c}`))];
}
export function sortOptions(classes: string[]): string[] {
  return [...GLOBAL_SORTS, ...classes.flatMap((c) => CLASS_SORTS.map((s) => `${s}: ${c}`))];
}

/** Splits 'kind: Class' at the first ': ' (class names may contain ': ' themselves). */
function splitOption(
  option: string,
  kinds: readonly string[],
  classes: string[],
): { kind: string; c: number } | undefined {
  for (const kind of kinds) {
    const prefix = `${kind}: `;
    if (option.startsWith(prefix)) {
      const c = classes.indexOf(option.slice(prefix.length));
      if (c >= 0) return { kind, c };
    }
  }
  return undefined;
}

/**
 * Row indices in a subset, in table order. Unlike the original, excluded rows are dropped from every subset except
 * 'excluded' itself: an excluded image never comes back into a queue unless the user asks to review exclusions.
 */
export function subsetRows(table: LabelTable, subset: string): number[] {
  checkTable(table);
  const k = table.classes.length;
  const known = (i: number) => {
    let n = 0;
    for (let c = 0; c < k; c++) if (table.labels[i * k + c] !== -1) n++;
    return n;
  };
  let pred: (i: number) => boolean;
  const perClass = splitOption(subset, CLASS_SUBSETS, table.classes);
  if (perClass) {
    const want = perClass.kind === 'unlabeled' ? -1 : perClass.kind === 'contains' ? 1 : 0;
    pred = (i) => table.labels[i * k + perClass.c] === want;
  } else if (subset === 'unlabeled') pred = (i) => known(i) === 0;
  else if (subset === 'fully labeled') pred = (i) => known(i) === k;
  else if (subset === 'partially labeled') pred = (i) => known(i) > 0 && known(i) < k;
  else if (subset === 'excluded') return range(table.n).filter((i) => table.exclude[i] === 1);
  else if (subset === 'not excluded') pred = () => true;
  else if (subset === 'validation') pred = (i) => table.validation[i] === 1;
  else
    throw new Error(
      `unknown subset ${JSON.stringify(subset)}; use one of: ${subsetOptions(table.classes).join(' | ')}`,
    );
  return range(table.n).filter((i) => table.exclude[i] === 0 && pred(i));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

const clip = (p: number) => Math.min(Math.max(p, 1e-8), 1 - 1e-8);
/** Binary entropy in bits. */
export function binaryEntropy(p: number): number {
  const q = clip(p);
  return -(q * Math.log2(q) + (1 - q) * Math.log2(1 - q));
}

export interface PickOptions {
  subset: string;
  sort: string;
  /** How many to return (the grid's dim*dim); capped at the subset size. */
  count: number;
  rng: Rng;
  /** [n, k] predicted probabilities; model-based sorts need them. */
  probs?: Float32Array;
  /** [n, dim] last-layer inputs for 'diverse (badge)' (defaults to the probabilities alone, dim k). */
  embedding?: { data: Float32Array; dim: number };
}

export interface Pick {
  indices: number[];
  /** Set when the subset was empty or a model sort had no predictions (then the order is random, as the original). */
  note?: string;
}

/**
 * Scores follow the original except for the entropy sorts, which use binary entropy per class so they peak at p = 0.5:
 * 'max entropy' = sum over classes of H(p_c) (the original used -sum p log2 p), 'maxent: C' = H(p_C) (the original used
 * the single term -p log2 p, which peaks at 1/e). 'high'/'low' keep the first occurrence among ties.
 */
export function pickIndices(table: LabelTable, options: PickOptions): Pick {
  const rows = subsetRows(table, options.subset);
  const k = table.classes.length;
  const count = Math.max(0, Math.min(options.count, rows.length));
  if (rows.length === 0) return { indices: [], note: `the subset "${options.subset}" is empty` };
  const random = () => options.rng.shuffle(rows.slice()).slice(0, count) as number[];
  if (options.sort === 'random') return { indices: random() };
  const probs = options.probs;
  if (probs && probs.length !== table.n * k)
    throw new Error(`pickIndices: probs must be [n=${table.n}, k=${k}]`);
  if (options.sort === 'diverse (badge)') {
    if (!probs) return { indices: random(), note: 'no predictions yet: random order' };
    const emb = options.embedding ?? { data: new Float32Array(table.n).fill(1), dim: 1 };
    return { indices: badgeSelect(emb.data, emb.dim, probs, k, rows, count, options.rng) };
  }
  if (options.sort === 'rare first') {
    if (!probs) return { indices: random(), note: 'no predictions yet: random order' };
    const positives = positiveCounts(table.labels, k, table.exclude, table.validation);
    return { indices: rareFirst(probs, k, rows, count, positives, options.rng) };
  }
  if (options.sort === 'balanced uncertainty') {
    if (!probs) return { indices: random(), note: 'no predictions yet: random order' };
    return { indices: balancedUncertainty(probs, k, rows, count) };
  }
  let score: (i: number) => number;
  let descending = true;
  if (options.sort === 'max entropy') {
    score = (i) => {
      let h = 0;
      for (let c = 0; c < k; c++) h += binaryEntropy(probs![i * k + c]!);
      return h;
    };
  } else {
    const s = splitOption(options.sort, CLASS_SORTS, table.classes);
    if (!s)
      throw new Error(
        `unknown sort ${JSON.stringify(options.sort)}; use one of: ${[...sortOptions(table.classes), ...QUEUE_SORTS].join(' | ')}`,
      );
    if (s.kind === 'maxent') score = (i) => binaryEntropy(probs![i * k + s.c]!);
    else {
      score = (i) => probs![i * k + s.c]!;
      descending = s.kind === 'high';
    }
  }
  if (!probs) return { indices: random(), note: 'no predictions yet: random order' };
  const scored = rows.map((i) => ({ i, v: score(i) }));
  // Array.prototype.sort is stable, so ties keep table order.
  scored.sort((a, b) => (descending ? b.v - a.v : a.v - b.v));
  return { indices: scored.slice(0, count).map((x) => x.i) };
}
