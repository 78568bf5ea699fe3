// The latest model output per (image, class), published by the active-learning rounds. Each write also keeps the
// image's entropy (the "max entropy" ordering) and the class's count of predicted images current.
import { binaryEntropy } from '../../ml/active/query.ts';
import type { Classes } from './classes.ts';
import type { LabelDb } from './connection.ts';
import { LabelStoreError } from './errors.ts';
import type { Images } from './images.ts';

export class Predictions {
  constructor(
    private readonly conn: LabelDb,
    private readonly images: Images,
    private readonly classes: Classes,
  ) {}

  /** Replaces the stored predictions of the given images: probs[i][j] for keys[i] and classNames[j]. */
  set(projectId: string, keys: string[], classNames: string[], probs: ArrayLike<number>[]): void {
    const classIds = classNames.map((n) => this.classes.byName(projectId, n).id);
    const dup = classNames.find((n, i) => classNames.indexOf(n) !== i);
    if (dup !== undefined) throw new LabelStoreError(`class ${JSON.stringify(dup)} is listed twice`);
    const { conn } = this;
    conn.write(() => {
      const ins = conn.stmt(
        `INSERT INTO label_predictions (image_id, class_id, p, h) VALUES (?, ?, ?, ?)
         ON CONFLICT (image_id, class_id) DO UPDATE SET p = excluded.p, h = excluded.h`,
      );
      const entropy = conn.stmt(
        `UPDATE label_images SET entropy = @active + coalesce((SELECT sum(p.h - 1) FROM label_predictions p
            JOIN label_classes c ON c.id = p.class_id WHERE p.image_id = @id AND c.retired = 0), 0) WHERE id = @id`,
      );
      const active = this.classes.activeCount(projectId);
      keys.forEach((key, i) => {
        const imageId = this.images.id(projectId, key);
        const row = probs[i]!;
        if (row.length !== classIds.length)
          throw new LabelStoreError(`predictions row ${i} has ${row.length} values, expected ${classIds.length}`);
        classIds.forEach((cid, j) => {
          const p = row[j]!;
          if (!(p >= 0 && p <= 1))
            throw new LabelStoreError(`prediction for ${key}/${classNames[j]} is ${p}, not in [0, 1]`);
          ins.run(imageId, cid, p, binaryEntropy(p));
        });
        entropy.run({ active, id: imageId });
      });
      const recount = conn.stmt(
        'UPDATE label_classes SET predicted = (SELECT count(*) FROM label_predictions WHERE class_id = @id) WHERE id = @id',
      );
      for (const cid of classIds) recount.run({ id: cid });
    });
  }

  /** Map image id -> (class id -> p) for the given images only. */
  forImages(imageIds: number[]): Map<number, Map<number, number>> {
    const q = this.conn.stmt('SELECT class_id AS classId, p FROM label_predictions WHERE image_id = ?');
    const out = new Map<number, Map<number, number>>();
    for (const id of imageIds) {
      const rows = q.all(id) as { classId: number; p: number }[];
      if (rows.length > 0) out.set(id, new Map(rows.map((r) => [r.classId, r.p])));
    }
    return out;
  }

  /** Whether any image of the project has a stored prediction (the model-based orderings need one). */
  any(projectId: string): boolean {
    return !!this.conn.stmt('SELECT 1 FROM label_classes WHERE project_id = ? AND predicted > 0 LIMIT 1').get(projectId);
  }

  /** Map image id -> (class id -> p). */
  all(projectId: string): Map<number, Map<number, number>> {
    const rows = this.conn
      .stmt(
        `SELECT p.image_id AS imageId, p.class_id AS classId, p.p AS p FROM label_predictions p
           JOIN label_images i ON i.id = p.image_id WHERE i.project_id = ?`,
      )
      .all(projectId) as { imageId: number; classId: number; p: number }[];
    const out = new Map<number, Map<number, number>>();
    for (const r of rows) {
      let m = out.get(r.imageId);
      if (!m) out.set(r.imageId, (m = new Map()));
      m.set(r.classId, r.p);
    }
    return out;
  }
}
