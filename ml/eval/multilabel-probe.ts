// Downstream monitoring for multi-label files: one L2 logistic regression per class on pooled features (the labeling
// loop's default head, C chosen by cross-validation), scored by ROC AUC per class on the held-out third.
import { LogisticHead } from '../active/logistic-head.ts';
import { rocAuc } from '../active/metrics.ts';

export interface MultiLabelSet {
  /** [n, dim] row-major. */
  features: Float32Array;
  /** [n, classes] with 1, 0 or -1 (unknown). */
  labels: Int8Array;
}

export interface MultiLabelProbeResult {
  classes: string[];
  /** Per class; NaN where the held-out images lack a positive or a negative. */
  auc: number[];
  /** Mean over the classes with an AUC; NaN when none has. */
  meanAuc: number;
}

export function multiLabelProbe(
  train: MultiLabelSet,
  test: MultiLabelSet,
  classes: string[],
  seed: number,
): MultiLabelProbeResult {
  const k = classes.length;
  const n = train.labels.length / k;
  const head = LogisticHead.fit(
    train.features,
    { n, classes, labels: train.labels, exclude: new Uint8Array(n), validation: new Uint8Array(n) },
    { seed },
  );
  const m = test.labels.length / k;
  const probs = m > 0 ? head.predict(test.features) : new Float32Array(0);
  const auc = classes.map((_, c) => {
    const scores: number[] = [];
    const truth: number[] = [];
    for (let i = 0; i < m; i++) {
      const label = test.labels[i * k + c]!;
      if (label === -1) continue;
      scores.push(probs[i * k + c]!);
      truth.push(label);
    }
    return rocAuc(scores, truth);
  });
  const defined = auc.filter((a) => !Number.isNaN(a));
  const meanAuc = defined.length > 0 ? defined.reduce((a, b) => a + b, 0) / defined.length : Number.NaN;
  return { classes, auc, meanAuc };
}
