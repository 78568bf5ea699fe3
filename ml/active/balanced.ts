// 'balanced uncertainty': the multi-label counterpart of uncertainty sampling for one-vs-rest sigmoid heads. Each class
// has its own decision boundary (p_c = 0.5); the classes take turns, each adding the not yet chosen candidate whose p_c
// is closest to 0.5. Ranking by one score summed or maximised over classes instead lets one confused pair of classes
// (or images every class is unsure about) fill the whole batch; see BENCHMARKS.md, active learning on Fashion-MNIST.

/** `count` of `candidates` (row indices into probs [n, k]), in pick order. Ties keep candidate order. */
export function balancedUncertainty(
  probs: Float32Array,
  k: number,
  candidates: number[],
  count: number,
): number[] {
  const take = Math.min(count, candidates.length);
  if (take === 0 || k === 0) return candidates.slice(0, take);
  const byClass = Array.from({ length: k }, (_, c) => {
    const distance = (i: number) => Math.abs(probs[i * k + c]! - 0.5);
    return candidates.slice().sort((a, b) => distance(a) - distance(b));
  });
  const next = new Array<number>(k).fill(0);
  const chosen: number[] = [];
  const taken = new Set<number>();
  for (let turn = 0; chosen.length < take; turn++) {
    const c = turn % k;
    const order = byClass[c]!;
    while (taken.has(order[next[c]!]!)) next[c]!++;
    const row = order[next[c]!++]!;
    taken.add(row);
    chosen.push(row);
  }
  return chosen;
}
