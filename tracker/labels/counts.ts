// Progress counters: label_class_counts holds, per (class, validation flag, value), how many labels images that are not
// excluded carry, so the labeler's progress table needs no scan. cells.ts keeps them current on every write.
import type { Classes } from './classes.ts';
import type { LabelDb } from './connection.ts';

export interface ClassCounts {
  name: string;
  retired: boolean;
  trainPos: number;
  trainNeg: number;
  valPos: number;
  valNeg: number;
}

/** Adds delta to the progress counter of (class, validation, value). */
export function bumpCount(conn: LabelDb, classId: number, validation: number, value: number, delta: number): void {
  conn
    .stmt(
      `INSERT INTO label_class_counts (class_id, validation, value, n) VALUES (?, ?, ?, ?)
       ON CONFLICT (class_id, validation, value) DO UPDATE SET n = n + excluded.n`,
    )
    .run(classId, validation, value, delta);
}

/** Positive and negative counts per class, training (validation false) and validation rows apart; excluded rows skipped. */
export function classCounts(
  conn: LabelDb,
  classes: Classes,
  projectId: string,
  options: { includeRetired?: boolean } = {},
): ClassCounts[] {
  const cls = classes.list(projectId, options);
  const rows = conn
    .stmt(
      `SELECT k.class_id AS classId, k.validation AS val, k.value AS value, k.n AS n
         FROM label_class_counts k JOIN label_classes c ON c.id = k.class_id
        WHERE c.project_id = ?`,
    )
    .all(projectId) as { classId: number; val: number; value: number; n: number }[];
  return cls.map((c) => {
    const get = (val: number, value: number) =>
      rows.find((r) => r.classId === c.id && r.val === val && r.value === value)?.n ?? 0;
    return {
      name: c.name,
      retired: c.retired,
      trainPos: get(0, 1),
      trainNeg: get(0, 0),
      valPos: get(1, 1),
      valNeg: get(1, 0),
    };
  });
}
