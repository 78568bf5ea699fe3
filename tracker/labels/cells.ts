// Label cells and the image flags, with their append-only history. Every write touches one cell inside one IMMEDIATE
// transaction that reads the old value and appends the history row, so two labelers (connections, processes) never
// lose each other's writes and the history chains old -> new exactly. An undo is a new history row.
import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { checkActor, checkValue, type Flag, type LabelValue } from './checks.ts';
import type { Classes } from './classes.ts';
import type { LabelDb } from './connection.ts';
import { bumpCount } from './counts.ts';
import { LabelStoreError } from './errors.ts';
import type { Images } from './images.ts';
import type { Projects } from './projects.ts';
import * as s from './schema.ts';

export interface HistoryEntry {
  id: number;
  imageKey: string;
  field: 'label' | 'exclude' | 'validation';
  className: string | null;
  oldValue: LabelValue;
  newValue: LabelValue;
  actor: string;
  at: number;
  undoes: number | null;
}
export interface WriteResult {
  historyId: number;
  oldValue: LabelValue;
  newValue: LabelValue;
}

export class Cells {
  constructor(
    private readonly conn: LabelDb,
    private readonly projects: Projects,
    private readonly images: Images,
    private readonly classes: Classes,
  ) {}

  setLabel(projectId: string, key: string, className: string, value: LabelValue, actor: string): WriteResult {
    checkValue(value);
    checkActor(actor);
    return this.conn.write(() => {
      const imageId = this.images.id(projectId, key);
      const c = this.classes.byName(projectId, className);
      if (c.retired)
        throw new LabelStoreError(`class ${JSON.stringify(className)} is retired; restore it to label it`, 409);
      return this.writeCell(projectId, imageId, c.id, value, actor, null);
    });
  }

  setFlag(projectId: string, key: string, flag: Flag, value: boolean, actor: string): WriteResult {
    if (flag !== 'exclude' && flag !== 'validation') throw new LabelStoreError(`unknown flag ${JSON.stringify(flag)}`);
    checkActor(actor);
    return this.conn.write(() =>
      this.writeFlag(projectId, this.images.id(projectId, key), flag, value ? 1 : 0, actor, null),
    );
  }

  private readCell(imageId: number, classId: number): LabelValue {
    const row = this.conn.stmt('SELECT value FROM label_values WHERE image_id = ? AND class_id = ?').get(
      imageId,
      classId,
    ) as { value: 0 | 1 } | undefined;
    return row ? row.value : null;
  }

  private readFlag(imageId: number, flag: Flag): 0 | 1 {
    const col = flag === 'exclude' ? s.images.exclude : s.images.validation;
    return this.conn.db.select({ v: col }).from(s.images).where(eq(s.images.id, imageId)).get()!.v as 0 | 1;
  }

  /** Must run inside write(). */
  private writeCell(
    projectId: string,
    imageId: number,
    classId: number,
    value: LabelValue,
    actor: string,
    undoes: number | null,
  ): WriteResult {
    const { conn } = this;
    const oldValue = this.readCell(imageId, classId);
    const image = conn.stmt('SELECT exclude, validation FROM label_images WHERE id = ?').get(imageId) as {
      exclude: number;
      validation: number;
    };
    const retired = (conn.stmt('SELECT retired FROM label_classes WHERE id = ?').get(classId) as { retired: number })
      .retired;
    const knownDelta = (value === null ? 0 : 1) - (oldValue === null ? 0 : 1);
    if (knownDelta !== 0 && retired === 0)
      conn.stmt('UPDATE label_images SET known = known + ? WHERE id = ?').run(knownDelta, imageId);
    if (image.exclude === 0 && oldValue !== value) {
      if (oldValue !== null) bumpCount(conn, classId, image.validation, oldValue, -1);
      if (value !== null) bumpCount(conn, classId, image.validation, value, 1);
    }
    if (value === null) conn.stmt('DELETE FROM label_values WHERE image_id = ? AND class_id = ?').run(imageId, classId);
    else
      conn
        .stmt(
          `INSERT INTO label_values (image_id, class_id, value) VALUES (?, ?, ?)
           ON CONFLICT (image_id, class_id) DO UPDATE SET value = excluded.value`,
        )
        .run(imageId, classId, value);
    const h = conn
      .stmt(
        `INSERT INTO label_history (project_id, image_id, field, class_id, old_value, new_value, actor, at, undoes)
         VALUES (?, ?, 'label', ?, ?, ?, ?, ?, ?)`,
      )
      .run(projectId, imageId, classId, oldValue, value, actor, Date.now(), undoes);
    return { historyId: Number(h.lastInsertRowid), oldValue, newValue: value };
  }

  /** Must run inside write(). */
  private writeFlag(
    projectId: string,
    imageId: number,
    flag: Flag,
    value: 0 | 1,
    actor: string,
    undoes: number | null,
  ): WriteResult {
    const { db } = this.conn;
    const oldValue = this.readFlag(imageId, flag);
    if (oldValue !== value) this.moveCounts(imageId, flag, value);
    db.update(s.images)
      .set({ [flag]: value })
      .where(eq(s.images.id, imageId))
      .run();
    const h = db
      .insert(s.history)
      .values({ projectId, imageId, field: flag, classId: null, oldValue, newValue: value, actor, at: Date.now(), undoes })
      .returning({ id: s.history.id })
      .get();
    return { historyId: h.id, oldValue, newValue: value };
  }

  /** Keeps the progress counters right when an image's exclude or validation flag is about to become `value`. */
  private moveCounts(imageId: number, flag: Flag, value: 0 | 1): void {
    const { conn } = this;
    const image = conn.stmt('SELECT exclude, validation FROM label_images WHERE id = ?').get(imageId) as {
      exclude: number;
      validation: number;
    };
    const labels = conn.stmt('SELECT class_id AS classId, value FROM label_values WHERE image_id = ?').all(imageId) as {
      classId: number;
      value: number;
    }[];
    const before = image.exclude === 0 ? image.validation : undefined;
    const after =
      flag === 'exclude' ? (value === 0 ? image.validation : undefined) : image.exclude === 0 ? value : undefined;
    for (const l of labels) {
      if (before !== undefined) bumpCount(conn, l.classId, before, l.value, -1);
      if (after !== undefined) bumpCount(conn, l.classId, after, l.value, 1);
    }
  }

  /**
   * Reverts this actor's most recent change that is not itself an undo and not yet undone. The revert is a new history
   * row. If someone else has changed the same cell since, the undo is refused (409) rather than clobbering their write.
   * Returns undefined when there is nothing to undo.
   */
  undo(projectId: string, actor: string): (WriteResult & { undone: HistoryEntry }) | undefined {
    checkActor(actor);
    this.projects.get(projectId);
    const { db } = this.conn;
    return this.conn.write(() => {
      const undoneIds = db
        .select({ id: s.history.undoes })
        .from(s.history)
        .where(
          and(eq(s.history.projectId, projectId), eq(s.history.actor, actor), sql`${s.history.undoes} IS NOT NULL`),
        );
      const target = db
        .select()
        .from(s.history)
        .where(
          and(
            eq(s.history.projectId, projectId),
            eq(s.history.actor, actor),
            isNull(s.history.undoes),
            sql`${s.history.id} NOT IN ${undoneIds}`,
          ),
        )
        .orderBy(desc(s.history.id))
        .limit(1)
        .get();
      if (!target) return undefined;
      const current =
        target.field === 'label'
          ? this.readCell(target.imageId, target.classId!)
          : this.readFlag(target.imageId, target.field);
      if (current !== target.newValue) {
        throw new LabelStoreError('cannot undo: someone else changed that value since; set it by hand instead', 409);
      }
      const res =
        target.field === 'label'
          ? this.writeCell(projectId, target.imageId, target.classId!, target.oldValue as LabelValue, actor, target.id)
          : this.writeFlag(projectId, target.imageId, target.field, target.oldValue as 0 | 1, actor, target.id);
      return { ...res, undone: this.history(projectId, { ids: [target.id] })[0]! };
    });
  }

  history(projectId: string, options: { limit?: number; ids?: number[]; imageKey?: string } = {}): HistoryEntry[] {
    if (!options.ids && !options.imageKey && options.limit) {
      // The page's recent changes: walk the (project_id, id) index backwards and stop after `limit` rows.
      return this.conn
        .stmt(
          `SELECT h.id, i.key AS imageKey, h.field, c.name AS className, h.old_value AS oldValue,
                  h.new_value AS newValue, h.actor, h.at, h.undoes
             FROM label_history h INDEXED BY label_history_project_id
             JOIN label_images i ON i.id = h.image_id LEFT JOIN label_classes c ON c.id = h.class_id
            WHERE h.project_id = ? ORDER BY h.id DESC LIMIT ?`,
        )
        .all(projectId, options.limit) as HistoryEntry[];
    }
    const conds = [eq(s.history.projectId, projectId)];
    if (options.ids) conds.push(inArray(s.history.id, options.ids));
    if (options.imageKey) conds.push(eq(s.images.key, options.imageKey));
    const q = this.conn.db
      .select({
        id: s.history.id,
        imageKey: s.images.key,
        field: s.history.field,
        className: s.classes.name,
        oldValue: s.history.oldValue,
        newValue: s.history.newValue,
        actor: s.history.actor,
        at: s.history.at,
        undoes: s.history.undoes,
      })
      .from(s.history)
      .innerJoin(s.images, eq(s.images.id, s.history.imageId))
      .leftJoin(s.classes, eq(s.classes.id, s.history.classId))
      .where(and(...conds))
      .orderBy(desc(s.history.id));
    const rows = options.limit ? q.limit(options.limit).all() : q.all();
    return rows.map((r) => ({ ...r, oldValue: r.oldValue as LabelValue, newValue: r.newValue as LabelValue }));
  }
}
