// A project's images, in insertion order, and the rows the grid and the exports read: the image with its flags and
// the labels it has (a class without a label is unknown).
import { and, asc, eq, sql } from 'drizzle-orm';
import { checkImageKey } from './checks.ts';
import type { Classes } from './classes.ts';
import type { LabelDb } from './connection.ts';
import { LabelStoreError } from './errors.ts';
import type { Projects } from './projects.ts';
import * as s from './schema.ts';

export interface ImageRow {
  id: number;
  key: string;
  viewKey: string | null;
  position: number;
  exclude: boolean;
  validation: boolean;
  /** Indexed by class id. Missing = unknown. */
  labels: Map<number, 0 | 1>;
}

export class Images {
  constructor(
    private readonly conn: LabelDb,
    private readonly projects: Projects,
    private readonly classes: Classes,
  ) {}

  /** Adds images (idempotent per key); returns how many were new. */
  add(projectId: string, items: { key: string; viewKey?: string | null }[]): number {
    this.projects.get(projectId);
    for (const item of items) {
      checkImageKey(item.key);
      if (item.viewKey != null) checkImageKey(item.viewKey);
    }
    return this.conn.write(() => {
      const max = this.conn.db
        .select({ m: sql<number>`coalesce(max(${s.images.position}), -1)` })
        .from(s.images)
        .where(eq(s.images.projectId, projectId))
        .get()!.m;
      // A new image has no labels and no predictions: every active class counts 1 bit of entropy.
      const entropy = this.classes.activeCount(projectId);
      const insert = this.conn.stmt(
        `INSERT INTO label_images (project_id, key, view_key, position, rand_key, known, entropy)
         VALUES (?, ?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING`,
      );
      let position = max + 1;
      let added = 0;
      for (const item of items) {
        const randKey = Math.floor(Math.random() * 2 ** 31);
        const res = insert.run(projectId, item.key, item.viewKey ?? null, position, randKey, entropy);
        if (res.changes > 0) {
          added++;
          position++;
        }
      }
      this.conn.stmt('UPDATE label_projects SET image_count = image_count + ? WHERE id = ?').run(added, projectId);
      return added;
    });
  }

  /** The image's id, or a 404 naming the key and the project. */
  id(projectId: string, key: string): number {
    const row = this.conn.stmt('SELECT id FROM label_images WHERE project_id = ? AND key = ?').get(projectId, key) as
      | { id: number }
      | undefined;
    if (!row) throw new LabelStoreError(`no image ${JSON.stringify(key)} in project ${projectId}`, 404);
    return row.id;
  }

  has(projectId: string, key: string): boolean {
    return !!this.conn.db
      .select({ id: s.images.id })
      .from(s.images)
      .where(and(eq(s.images.projectId, projectId), eq(s.images.key, key)))
      .get();
  }

  /** Every image of the project in insertion order, with its labels. */
  table(projectId: string): ImageRow[] {
    this.projects.get(projectId);
    const { db } = this.conn;
    const rows = db
      .select()
      .from(s.images)
      .where(eq(s.images.projectId, projectId))
      .orderBy(asc(s.images.position))
      .all();
    const byId = new Map<number, ImageRow>();
    const out = rows.map((r) => {
      const row: ImageRow = {
        id: r.id,
        key: r.key,
        viewKey: r.viewKey,
        position: r.position,
        exclude: r.exclude === 1,
        validation: r.validation === 1,
        labels: new Map(),
      };
      byId.set(r.id, row);
      return row;
    });
    const vals = db
      .select({ imageId: s.values.imageId, classId: s.values.classId, value: s.values.value })
      .from(s.values)
      .innerJoin(s.images, eq(s.images.id, s.values.imageId))
      .where(eq(s.images.projectId, projectId))
      .all();
    for (const v of vals) byId.get(v.imageId)!.labels.set(v.classId, v.value as 0 | 1);
    return out;
  }

  /** Rows for the given keys (in the given order; unknown keys are skipped). */
  rows(projectId: string, keys: string[]): ImageRow[] {
    const byKey = this.conn.stmt('SELECT id FROM label_images WHERE project_id = ? AND key = ?');
    const ids = keys.flatMap((k) => {
      const r = byKey.get(projectId, k) as { id: number } | undefined;
      return r ? [r.id] : [];
    });
    return this.rowsById(ids);
  }

  /** Rows for the given image ids, in the given order (unknown ids are skipped): one lookup per image. */
  rowsById(ids: number[]): ImageRow[] {
    const image = this.conn.stmt(
      'SELECT id, key, view_key AS viewKey, position, exclude, validation FROM label_images WHERE id = ?',
    );
    const labels = this.conn.stmt('SELECT class_id AS classId, value FROM label_values WHERE image_id = ?');
    return ids.flatMap((id) => {
      const r = image.get(id) as
        | { id: number; key: string; viewKey: string | null; position: number; exclude: number; validation: number }
        | undefined;
      if (!r) return [];
      const values = labels.all(id) as { classId: number; value: 0 | 1 }[];
      return [
        {
          ...r,
          exclude: r.exclude === 1,
          validation: r.validation === 1,
          labels: new Map(values.map((v) => [v.classId, v.value])),
        },
      ];
    });
  }
}
