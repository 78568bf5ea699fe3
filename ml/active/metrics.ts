// Per-class metrics for multi-hot predictions: ROC AUC, precision/recall at 0.5, label counts. Plain JS (small arrays).
import type { LabelTable } from './table.ts';

export interface ClassMetrics {
  name: string;
  positives: number;
  negatives: number;
  /** NaN when a class has no positives or no negatives among the scored rows. */
  auc: number;
  precision: number;
  recall: number;
}

/** ROC AUC by the Mann-Whitney statistic with average ranks for ties. */
export function rocAuc(scores: ArrayLike<number>, truth: ArrayLike<number>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const ranks = new Float64Array(idx.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const r = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) ranks[idx[t]!] = r;
    i = j + 1;
  }
  let pos = 0;
  let sum = 0;
  for (let i = 0; i < idx.length; i++) {
    if (truth[i] === 1) {
      pos++;
      sum += ranks[i]!;
    }
  }
  const neg = idx.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (sum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * probs: [n, k] probabilities; table: the truth (-1 entries are skipped per class). Rows can be restricted (e.g. to
 * validation rows) with `rows`.
 */
export function classMetrics(probs: Float32Array, table: LabelTable, rows?: number[]): ClassMetrics[] {
  const k = table.classes.length;
  const use = rows ?? Array.from({ length: table.n }, (_, i) => i);
  return table.classes.map((name, c) => {
    const s: number[] = [];
    const t: number[] = [];
    for (const i of use) {
      const y = table.labels[i * k + c]!;
      if (y === -1) continue;
      s.push(probs[i * k + c]!);
      t.push(y);
    }
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let j = 0; j < s.length; j++) {
      const pred = s[j]! >= 0.5;
      if (pred && t[j] === 1) tp++;
      else if (pred) fp++;
      else if (t[j] === 1) fn++;
    }
    const positives = t.filter((v) => v === 1).length;
    return {
      name,
      positives,
      negatives: t.length - positives,
      auc: rocAuc(s, t),
      precision: tp + fp > 0 ? tp / (tp + fp) : NaN,
      recall: tp + fn > 0 ? tp / (tp + fn) : NaN,
    };
  });
}

export function meanAuc(metrics: ClassMetrics[]): number {
  const finite = metrics.filter((m) => Number.isFinite(m.auc));
  return finite.reduce((a, m) => a + m.auc, 0) / finite.length;
}
