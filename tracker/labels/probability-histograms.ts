// Per-class histograms of the published predicted probabilities, split as the original's Train panel splits them.
// For one class, an image that is not excluded and has a prediction counts as
//   training:   labelled (0 or 1) in that class and not a validation image;
//   validation: labelled in that class and a validation image;
//   unlabelled: not labelled in that class (validation or not).
import type { LabelStore } from './store.ts';

export const SPLITS = ['training', 'validation', 'unlabelled'] as const;
export type Split = (typeof SPLITS)[number];

export interface ClassHistogram {
  name: string;
  /** Counts per bin of [0, 1/bins), …, [1 - 1/bins, 1] for each split. */
  counts: Record<Split, number[]>;
}

export function probabilityHistograms(store: LabelStore, projectId: string, bins = 10): ClassHistogram[] {
  const classes = store.classes(projectId);
  const predictions = store.predictions(projectId);
  const histograms = classes.map((c) => ({
    name: c.name,
    counts: Object.fromEntries(SPLITS.map((s) => [s, new Array<number>(bins).fill(0)])) as Record<Split, number[]>,
  }));
  for (const row of store.table(projectId)) {
    const probs = predictions.get(row.id);
    if (row.exclude || !probs) continue;
    classes.forEach((c, j) => {
      const p = probs.get(c.id);
      if (p === undefined) return;
      const split: Split = !row.labels.has(c.id) ? 'unlabelled' : row.validation ? 'validation' : 'training';
      histograms[j]!.counts[split][Math.min(bins - 1, Math.floor(p * bins))]!++;
    });
  }
  return histograms;
}
