// Per-class histograms of the published predicted probabilities, split as the original's Train panel splits them:
// labelled positives and negatives, each on training and validation images, and the unlabelled images. For one class,
// an image that is not excluded and has a prediction counts as
//   training:   labelled (0 or 1) in that class and not a validation image;
//   validation: labelled in that class and a validation image;
//   unlabelled: not labelled in that class (validation or not).
import type { LabelStore } from './store.ts';

export const SERIES = ['training 1', 'training 0', 'validation 1', 'validation 0', 'unlabelled'] as const;
export type Series = (typeof SERIES)[number];
/** The original's 14 equal bins over [0, 1]. */
export const HISTOGRAM_BINS = 14;

export interface ClassHistogram {
  name: string;
  /** Counts per bin of [0, 1/bins), …, [1 - 1/bins, 1] for each series. */
  counts: Record<Series, number[]>;
}

/** Images per split (training, validation, unlabelled) in a histogram, positives and negatives together. */
export function splitTotals(h: ClassHistogram): { training: number; validation: number; unlabelled: number } {
  const sum = (s: Series) => h.counts[s].reduce((a, b) => a + b, 0);
  return {
    training: sum('training 1') + sum('training 0'),
    validation: sum('validation 1') + sum('validation 0'),
    unlabelled: sum('unlabelled'),
  };
}

export function probabilityHistograms(store: LabelStore, projectId: string, bins = HISTOGRAM_BINS): ClassHistogram[] {
  const classes = store.classes(projectId);
  const predictions = store.predictions(projectId);
  const histograms = classes.map((c) => ({
    name: c.name,
    counts: Object.fromEntries(SERIES.map((s) => [s, new Array<number>(bins).fill(0)])) as Record<Series, number[]>,
  }));
  for (const row of store.table(projectId)) {
    const probs = predictions.get(row.id);
    if (row.exclude || !probs) continue;
    classes.forEach((c, j) => {
      const p = probs.get(c.id);
      if (p === undefined) return;
      const label = row.labels.get(c.id);
      const series: Series =
        label === undefined ? 'unlabelled' : `${row.validation ? 'validation' : 'training'} ${label === 1 ? 1 : 0}`;
      histograms[j]!.counts[series][Math.min(bins - 1, Math.floor(p * bins))]!++;
    });
  }
  return histograms;
}
