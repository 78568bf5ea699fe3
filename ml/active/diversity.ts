// BADGE (Ash et al. 2020): k-means++ seeding over gradient embeddings of the last layer. For sigmoid outputs with
// pseudo-labels yhat = [p > 0.5], the gradient of the BCE with respect to the last weight matrix of row i is the outer
// product h_i (x) (p_i - yhat_i), so ||g_i - g_j||^2 = |h_i|^2|e_i|^2 + |h_j|^2|e_j|^2 - 2 (h_i.h_j)(e_i.e_j) and the
// d*k-dimensional embeddings never need to be built. Hand-written: no library does this on typed arrays.
import type { Rng } from '../rng.ts';

export function badgeSelect(
  h: Float32Array,
  dim: number,
  probs: Float32Array,
  k: number,
  candidates: number[],
  count: number,
  rng: Rng,
): number[] {
  const m = candidates.length;
  const take = Math.min(count, m);
  if (take === 0) return [];
  const e = new Float64Array(m * k);
  const hn = new Float64Array(m);
  const en = new Float64Array(m);
  for (let a = 0; a < m; a++) {
    const i = candidates[a]!;
    let s = 0;
    for (let c = 0; c < k; c++) {
      const p = probs[i * k + c]!;
      const v = p - (p > 0.5 ? 1 : 0);
      e[a * k + c] = v;
      s += v * v;
    }
    en[a] = s;
    let t = 0;
    for (let j = 0; j < dim; j++) t += h[i * dim + j]! ** 2;
    hn[a] = t;
  }
  const dist2 = (a: number, b: number) => {
    let hh = 0;
    const ia = candidates[a]! * dim;
    const ib = candidates[b]! * dim;
    for (let j = 0; j < dim; j++) hh += h[ia + j]! * h[ib + j]!;
    let ee = 0;
    for (let c = 0; c < k; c++) ee += e[a * k + c]! * e[b * k + c]!;
    return Math.max(0, hn[a]! * en[a]! + hn[b]! * en[b]! - 2 * hh * ee);
  };
  // First centre: the largest gradient norm (as BADGE does), then D^2 sampling.
  let first = 0;
  for (let a = 1; a < m; a++) if (hn[a]! * en[a]! > hn[first]! * en[first]!) first = a;
  const chosen = [first];
  const taken = new Uint8Array(m);
  taken[first] = 1;
  const best = new Float64Array(m);
  for (let a = 0; a < m; a++) best[a] = dist2(a, first);
  while (chosen.length < take) {
    let total = 0;
    for (let a = 0; a < m; a++) if (!taken[a]) total += best[a]!;
    let next: number;
    if (total > 0) {
      next = rng.weightedIndex(
        Array.from(best, (v, a) => (taken[a] ? 0 : v)),
        total,
      );
    } else {
      // Every remaining point coincides with a centre: fill up uniformly.
      const rest = [...Array(m).keys()].filter((a) => !taken[a]);
      next = rest[rng.integer(0, rest.length)]!;
    }
    chosen.push(next);
    taken[next] = 1;
    for (let a = 0; a < m; a++) if (!taken[a]) best[a] = Math.min(best[a]!, dist2(a, next));
  }
  return chosen.map((a) => candidates[a]!);
}
