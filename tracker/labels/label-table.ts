// The store's rows as ml/'s LabelTable: one row per image, one column per class, -1 where the label is unknown.
import type { LabelTable } from '../../ml/active/table.ts';
import type { ClassInfo, ImageRow } from './store.ts';

export function toLabelTable(rows: ImageRow[], classes: ClassInfo[]): LabelTable {
  const k = classes.length;
  const t: LabelTable = {
    n: rows.length,
    classes: classes.map((c) => c.name),
    labels: new Int8Array(rows.length * k).fill(-1),
    exclude: new Uint8Array(rows.length),
    validation: new Uint8Array(rows.length),
  };
  rows.forEach((r, i) => {
    t.exclude[i] = r.exclude ? 1 : 0;
    t.validation[i] = r.validation ? 1 : 0;
    classes.forEach((c, j) => {
      const v = r.labels.get(c.id);
      if (v !== undefined) t.labels[i * k + j] = v;
    });
  });
  return t;
}
