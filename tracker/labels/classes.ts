// A project's classes: added, renamed, retired and restored. Labels and predictions reference a class by id, so a
// rename keeps them; retiring one changes every image's derived columns (known, entropy), recomputed here.
import { and, eq, sql } from 'drizzle-orm';
import { checkClassName } from './checks.ts';
import type { LabelDb } from './connection.ts';
import { LabelStoreError } from './errors.ts';
import type { Projects } from './projects.ts';
import * as s from './schema.ts';

export interface ClassInfo {
  id: number;
  name: string;
  position: number;
  retired: boolean;
}

export class Classes {
  constructor(
    private readonly conn: LabelDb,
    private readonly projects: Projects,
  ) {}

  list(projectId: string, options: { includeRetired?: boolean } = {}): ClassInfo[] {
    this.projects.get(projectId);
    const rows = this.conn
      .stmt(
        `SELECT id, name, position, retired FROM label_classes
          WHERE project_id = ? AND (retired = 0 OR ?) ORDER BY position`,
      )
      .all(projectId, options.includeRetired ? 1 : 0) as {
      id: number;
      name: string;
      position: number;
      retired: number;
    }[];
    return rows.map((c) => ({ id: c.id, name: c.name, position: c.position, retired: c.retired === 1 }));
  }

  activeCount(projectId: string): number {
    return (
      this.conn.stmt('SELECT count(*) AS n FROM label_classes WHERE project_id = ? AND retired = 0').get(projectId) as {
        n: number;
      }
    ).n;
  }

  /** The class, or a 404 naming it and the project. */
  byName(projectId: string, name: string): ClassInfo {
    const c = this.conn
      .stmt('SELECT id, name, position, retired FROM label_classes WHERE project_id = ? AND name = ?')
      .get(projectId, name) as { id: number; name: string; position: number; retired: number } | undefined;
    if (!c) throw new LabelStoreError(`no class ${JSON.stringify(name)} in project ${projectId}`, 404);
    return { id: c.id, name: c.name, position: c.position, retired: c.retired === 1 };
  }

  add(projectId: string, name: string): ClassInfo {
    this.projects.get(projectId);
    checkClassName(name);
    const { db } = this.conn;
    return this.conn.write(() => {
      const existing = db
        .select()
        .from(s.classes)
        .where(and(eq(s.classes.projectId, projectId), eq(s.classes.name, name)))
        .get();
      if (existing) {
        if (existing.retired === 1)
          throw new LabelStoreError(
            `class ${JSON.stringify(name)} exists but is retired; restore it instead`,
            409,
          );
        throw new LabelStoreError(`class ${JSON.stringify(name)} already exists`, 409);
      }
      const max = db
        .select({ m: sql<number>`coalesce(max(${s.classes.position}), -1)` })
        .from(s.classes)
        .where(eq(s.classes.projectId, projectId))
        .get()!.m;
      const row = db
        .insert(s.classes)
        .values({ projectId, name, position: max + 1 })
        .returning()
        .get();
      // The new class has no predictions yet: 1 more bit of entropy on every image.
      this.conn.stmt('UPDATE label_images SET entropy = entropy + 1 WHERE project_id = ?').run(projectId);
      return { id: row.id, name: row.name, position: row.position, retired: false };
    });
  }

  /** Renames a class; its labels stay with it (they reference the class id, not the name). */
  rename(projectId: string, from: string, to: string): ClassInfo {
    checkClassName(to);
    const { db } = this.conn;
    return this.conn.write(() => {
      const c = this.byName(projectId, from);
      if (from === to) return c;
      const clash = db
        .select({ id: s.classes.id })
        .from(s.classes)
        .where(and(eq(s.classes.projectId, projectId), eq(s.classes.name, to)))
        .get();
      if (clash) throw new LabelStoreError(`class ${JSON.stringify(to)} already exists`, 409);
      db.update(s.classes).set({ name: to }).where(eq(s.classes.id, c.id)).run();
      return { ...c, name: to };
    });
  }

  /** Retired classes leave the labeler's grid and the training targets, but keep their labels and stay in exports. */
  setRetired(projectId: string, name: string, retired: boolean): ClassInfo {
    return this.conn.write(() => {
      const c = this.byName(projectId, name);
      if (c.retired === retired) return c;
      this.conn.db
        .update(s.classes)
        .set({ retired: retired ? 1 : 0 })
        .where(eq(s.classes.id, c.id))
        .run();
      this.recomputeDerived(projectId);
      return { ...c, retired };
    });
  }

  /** Recomputes every image's known count and entropy from scratch (after the set of active classes changed). */
  private recomputeDerived(projectId: string): void {
    this.conn
      .stmt(
        `UPDATE label_images SET
           known = (SELECT count(*) FROM label_values v JOIN label_classes c ON c.id = v.class_id
                     WHERE v.image_id = label_images.id AND c.retired = 0),
           entropy = ? + coalesce((SELECT sum(p.h - 1) FROM label_predictions p JOIN label_classes c ON c.id = p.class_id
                                    WHERE p.image_id = label_images.id AND c.retired = 0), 0)
         WHERE project_id = ?`,
      )
      .run(this.activeCount(projectId), projectId);
  }
}
