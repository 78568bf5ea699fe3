/**
 * Normalised mutual information with arithmetic normalisation, I(U;V) / ((H(U) + H(V)) / 2), as scikit-learn's
 * normalized_mutual_info_score. Labels are any integers; two labellings with one cluster each score 1.
 */
export function normalizedMutualInformation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new Error(`normalizedMutualInformation: labellings differ in length (${a.length} vs ${b.length})`);
  }
  const n = a.length;
  if (n === 0) throw new Error('normalizedMutualInformation: labellings are empty');
  const countA = new Map<number, number>();
  const countB = new Map<number, number>();
  const joint = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const u = a[i]!;
    const v = b[i]!;
    countA.set(u, (countA.get(u) ?? 0) + 1);
    countB.set(v, (countB.get(v) ?? 0) + 1);
    const key = `${u},${v}`;
    joint.set(key, (joint.get(key) ?? 0) + 1);
  }
  if (countA.size === 1 && countB.size === 1) return 1;
  const entropy = (counts: Map<number, number>) => {
    let h = 0;
    for (const c of counts.values()) h -= (c / n) * Math.log(c / n);
    return h;
  };
  let mi = 0;
  for (const [key, nij] of joint) {
    const [u, v] = key.split(',').map(Number) as [number, number];
    mi += (nij / n) * Math.log((n * nij) / (countA.get(u)! * countB.get(v)!));
  }
  const denominator = (entropy(countA) + entropy(countB)) / 2;
  if (denominator <= 0) return 1;
  return Math.min(1, Math.max(0, mi / denominator));
}
