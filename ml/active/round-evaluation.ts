// A round's per-class metrics: on the labelled validation images when there are any, else on the labelled training
// images. Values that do not exist (no positives, no predictions) are null, as they travel as JSON.
import { classMetrics, meanAuc } from './metrics.ts';
import type { LabelTable } from './table.ts';

export interface RoundClassMetrics {
  name: string;
  positives: number;
  negatives: number;
  /** null where undefined (no positives or no negatives): JSON has no NaN. */
  auc: number | null;
  precision: number | null;
  recall: number | null;
}

export interface RoundEvaluation {
  evaluatedOn: 'validation' | 'train';
  classes: RoundClassMetrics[];
  meanAuc: number | null;
}

const nullable = (v: number) => (Number.isFinite(v) ? v : null);

export function evaluateRound(probs: Float32Array, table: LabelTable): RoundEvaluation {
  const k = table.classes.length;
  const labelledRow = (i: number) => table.labels.subarray(i * k, i * k + k).some((v) => v !== -1);
  const rowsOf = (validation: number) =>
    Array.from({ length: table.n }, (_, i) => i).filter(
      (i) => !table.exclude[i] && table.validation[i] === validation && labelledRow(i),
    );
  const validation = rowsOf(1);
  const metrics = classMetrics(probs, table, validation.length > 0 ? validation : rowsOf(0));
  return {
    evaluatedOn: validation.length > 0 ? 'validation' : 'train',
    classes: metrics.map((m) => ({
      name: m.name,
      positives: m.positives,
      negatives: m.negatives,
      auc: nullable(m.auc),
      precision: nullable(m.precision),
      recall: nullable(m.recall),
    })),
    meanAuc: nullable(meanAuc(metrics)),
  };
}
