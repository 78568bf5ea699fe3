// 'rare first': the multi-label queue for imbalanced classes. Uncertainty alone labels the boundary of classes that
// already have positives; a class at 2 % barely has one, and images near a balanced head's p = 0.5 hold positives at
// about its base rate. So part of each batch (`share`, half by default) goes to the classes short of positives (fewer
// than half the mean count over classes), rarest first, each taking its unlabelled image with the highest predicted
// probability (the original's 'high: C'); the rest is balanced uncertainty. Without a short class it is balanced
// uncertainty alone, so balanced single-label data is queued as before.
import type { Rng } from '../rng.ts';
import { balancedUncertainty } from './balanced.ts';

export const RARE_SHARE = 0.5;

/** Classes short of positives, rarest first (ties in class order). */
export function shortClasses(positives: number[]): number[] {
  const mean = positives.reduce((a, b) => a + b, 0) / Math.max(positives.length, 1);
  return positives
    .map((count, c) => ({ count, c }))
    .filter(({ count }) => count < mean / 2)
    .sort((a, b) => a.count - b.count)
    .map(({ c }) => c);
}

/** `count` of `candidates` (rows of probs [n, k]) in pick order; ties are broken by a shuffle from `rng`. */
export function rareFirst(
  probs: Float32Array,
  k: number,
  candidates: number[],
  count: number,
  positives: number[],
  rng: Rng,
  share = RARE_SHARE,
): number[] {
  const take = Math.min(count, candidates.length);
  const rare = shortClasses(positives);
  const shuffled = rng.shuffle(candidates.slice()) as number[];
  const chosen: number[] = [];
  const taken = new Set<number>();
  if (rare.length > 0) {
    const slots = Math.min(take, Math.round(take * share));
    const byClass = rare.map((c) => shuffled.slice().sort((a, b) => probs[b * k + c]! - probs[a * k + c]!));
    const next = new Array<number>(rare.length).fill(0);
    for (let turn = 0; chosen.length < slots; turn++) {
      const r = turn % rare.length;
      const order = byClass[r]!;
      while (taken.has(order[next[r]!]!)) next[r]!++;
      const row = order[next[r]!++]!;
      taken.add(row);
      chosen.push(row);
    }
  }
  const rest = shuffled.filter((i) => !taken.has(i));
  return [...chosen, ...balancedUncertainty(probs, k, rest, take - chosen.length)];
}

/** Positive labels per class among training rows (not excluded, not validation). */
export function positiveCounts(
  labels: Int8Array,
  k: number,
  exclude: Uint8Array,
  validation: Uint8Array,
): number[] {
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < exclude.length; i++) {
    if (exclude[i] || validation[i]) continue;
    for (let c = 0; c < k; c++) if (labels[i * k + c] === 1) counts[c]!++;
  }
  return counts;
}
