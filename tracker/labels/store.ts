// The label store: projects, images, classes and tri-state labels in SQLite (WAL), with an append-only history.
// Every write touches one cell inside one IMMEDIATE transaction that reads the old value and appends the history row,
// so two labelers (connections, processes) never lose each other's writes and the history chains old -> new exactly.
import { PROJECT_ID } from '../../contracts/project-id.ts';
import Database from 'better-sqlite3';
import { binaryEntropy } from '../../ml/active/query.ts';
import { and, asc, desc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { normalizeKey } from '../../storage/keys.ts';
import { LabelStoreError } from './errors.ts';
import { checkLocationRoot, isLocationRoot } from './image-sources.ts';
import { migrate } from './migrate.ts';
import * as s from './schema.ts';

export type LabelValue = 0 | 1 | null;
export type Flag = 'exclude' | 'validation';
/** Column names that are not classes in the CSV layout. */
export const PROTECTED_COLUMNS = ['filepath', 'exclude', 'viewpath', 'validation'] as const;

export { LabelStoreError };

export interface ProjectInfo {
  id: string;
  name: string;
  root: string;
  createdAt: number;
}
export interface ClassInfo {
  id: number;
  name: string;
  position: number;
  retired: boolean;
}
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
export interface ClassCounts {
  name: string;
  retired: boolean;
  trainPos: number;
  trainNeg: number;
  valPos: number;
  valNeg: number;
}

export { PROJECT_ID };

export function checkProjectId(id: string): string {
  if (!PROJECT_ID.test(id)) {
    throw new LabelStoreError(
      `invalid project id ${JSON.stringify(id)}: use 1-64 of a-z, 0-9, '-', '_' (starting with a letter or digit)`,
    );
  }
  return id;
}

/** Image keys are canonical storage keys (no '..', no leading '/', no empty or '.' segments). */
export function checkImageKey(key: string): string {
  let norm: string;
  try {
    norm = normalizeKey(key);
  } catch (error) {
    throw new LabelStoreError((error as Error).message);
  }
  if (norm !== key)
    throw new LabelStoreError(
      `image key ${JSON.stringify(key)} is not canonical; use ${JSON.stringify(norm)}`,
    );
  if (key.length > 1024) throw new LabelStoreError('image key longer than 1024 characters');
  return key;
}

export function checkClassName(name: string): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  if (trimmed === '' || trimmed !== name)
    throw new LabelStoreError(
      `class name ${JSON.stringify(name)} must be non-empty without surrounding spaces`,
    );
  if (name.length > 100) throw new LabelStoreError('class name longer than 100 characters');
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new LabelStoreError('class name contains control characters');
  if ((PROTECTED_COLUMNS as readonly string[]).includes(name)) {
    throw new LabelStoreError(
      `class name ${JSON.stringify(name)} is reserved (${PROTECTED_COLUMNS.join(', ')} are not classes)`,
    );
  }
  return name;
}

function checkActor(actor: string): string {
  if (typeof actor !== 'string' || actor.length === 0 || actor.length > 100)
    throw new LabelStoreError('actor must be 1-100 characters');
  return actor;
}

function checkValue(value: unknown): LabelValue {
  if (value === null || value === 0 || value === 1) return value;
  throw new LabelStoreError(`label value must be null (unknown), 0 or 1, got ${JSON.stringify(value)}`);
}

export interface OpenOptions {
  /** Milliseconds a writer waits for another connection's transaction (SQLite busy_timeout). */
  busyTimeoutMs?: number;
}

export class LabelStore {
  readonly db: BetterSQLite3Database<typeof s>;
  private readonly statements = new Map<string, Database.Statement>();
  private constructor(readonly sqlite: Database.Database) {
    this.db = drizzle(sqlite, { schema: s });
  }

  /** A prepared statement, compiled once per store. */
  stmt(sqlText: string): Database.Statement {
    let st = this.statements.get(sqlText);
    if (!st) this.statements.set(sqlText, (st = this.sqlite.prepare(sqlText)));
    return st;
  }

  static open(path: string, options: OpenOptions = {}): LabelStore {
    const sqlite = new Database(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('synchronous = NORMAL');
    migrate(sqlite);
    return new LabelStore(sqlite);
  }

  close(): void {
    this.sqlite.close();
  }

  /**
   * Runs fn in one IMMEDIATE transaction (takes the write lock first, so read-then-write cannot interleave). Store calls
   * made inside fn nest as savepoints, so a bulk import is one transaction.
   */
  write<T>(fn: () => T): T {
    return this.sqlite.transaction(fn).immediate();
  }

  // ---- projects ----
  createProject(id: string, options: { name?: string; root?: string } = {}): ProjectInfo {
    checkProjectId(id);
    const root = !options.root ? '' : isLocationRoot(options.root) ? checkLocationRoot(options.root) : checkImageKey(options.root);
    const row = { id, name: options.name ?? id, root, createdAt: Date.now() };
    try {
      this.db.insert(s.projects).values(row).run();
    } catch (error) {
      if (/UNIQUE|PRIMARY KEY/.test((error as Error).message))
        throw new LabelStoreError(`project ${id} already exists`, 409);
      throw error;
    }
    return row;
  }

  getProject(id: string): ProjectInfo | undefined {
    if (!PROJECT_ID.test(id)) return undefined;
    return this.stmt('SELECT id, name, root, created_at AS createdAt FROM label_projects WHERE id = ?').get(
      id,
    ) as ProjectInfo | undefined;
  }

  project(id: string): ProjectInfo {
    const p = this.getProject(id);
    if (!p) throw new LabelStoreError(`no project ${JSON.stringify(id)}`, 404);
    return p;
  }

  listProjects(): ProjectInfo[] {
    return this.db.select().from(s.projects).orderBy(asc(s.projects.id)).all();
  }

  // ---- images ----
  /** Adds images (idempotent per key); returns how many were new. */
  addImages(projectId: string, items: { key: string; viewKey?: string | null }[]): number {
    this.project(projectId);
    for (const item of items) {
      checkImageKey(item.key);
      if (item.viewKey != null) checkImageKey(item.viewKey);
    }
    return this.write(() => {
      const max = this.db
        .select({ m: sql<number>`coalesce(max(${s.images.position}), -1)` })
        .from(s.images)
        .where(eq(s.images.projectId, projectId))
        .get()!.m;
      // A new image has no labels and no predictions: every active class counts 1 bit of entropy.
      const entropy = this.activeClassCount(projectId);
      const insert = this.stmt(
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
      this.stmt('UPDATE label_projects SET image_count = image_count + ? WHERE id = ?').run(added, projectId);
      return added;
    });
  }

  imageId(projectId: string, key: string): number {
    const row = this.stmt('SELECT id FROM label_images WHERE project_id = ? AND key = ?').get(
      projectId,
      key,
    ) as { id: number } | undefined;
    if (!row) throw new LabelStoreError(`no image ${JSON.stringify(key)} in project ${projectId}`, 404);
    return row.id;
  }

  hasImage(projectId: string, key: string): boolean {
    return !!this.db
      .select({ id: s.images.id })
      .from(s.images)
      .where(and(eq(s.images.projectId, projectId), eq(s.images.key, key)))
      .get();
  }

  /** Every image of the project in insertion order, with its labels. */
  table(projectId: string): ImageRow[] {
    this.project(projectId);
    const rows = this.db
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
    const vals = this.db
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
    const byKey = this.stmt('SELECT id FROM label_images WHERE project_id = ? AND key = ?');
    const ids = keys.flatMap((k) => {
      const r = byKey.get(projectId, k) as { id: number } | undefined;
      return r ? [r.id] : [];
    });
    return this.rowsById(ids);
  }

  /** Rows for the given image ids, in the given order (unknown ids are skipped): one lookup per image. */
  rowsById(ids: number[]): ImageRow[] {
    const image = this.stmt(
      'SELECT id, key, view_key AS viewKey, position, exclude, validation FROM label_images WHERE id = ?',
    );
    const labels = this.stmt('SELECT class_id AS classId, value FROM label_values WHERE image_id = ?');
    return ids.flatMap((id) => {
      const r = image.get(id) as
        | {
            id: number;
            key: string;
            viewKey: string | null;
            position: number;
            exclude: number;
            validation: number;
          }
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

  // ---- classes ----
  classes(projectId: string, options: { includeRetired?: boolean } = {}): ClassInfo[] {
    this.project(projectId);
    const rows = this.stmt(
      `SELECT id, name, position, retired FROM label_classes
        WHERE project_id = ? AND (retired = 0 OR ?) ORDER BY position`,
    ).all(projectId, options.includeRetired ? 1 : 0) as {
      id: number;
      name: string;
      position: number;
      retired: number;
    }[];
    return rows.map((c) => ({ id: c.id, name: c.name, position: c.position, retired: c.retired === 1 }));
  }

  activeClassCount(projectId: string): number {
    return (
      this.stmt('SELECT count(*) AS n FROM label_classes WHERE project_id = ? AND retired = 0').get(
        projectId,
      ) as {
        n: number;
      }
    ).n;
  }

  private classByName(projectId: string, name: string): ClassInfo {
    const c = this.stmt(
      'SELECT id, name, position, retired FROM label_classes WHERE project_id = ? AND name = ?',
    ).get(projectId, name) as { id: number; name: string; position: number; retired: number } | undefined;
    if (!c) throw new LabelStoreError(`no class ${JSON.stringify(name)} in project ${projectId}`, 404);
    return { id: c.id, name: c.name, position: c.position, retired: c.retired === 1 };
  }

  addClass(projectId: string, name: string): ClassInfo {
    this.project(projectId);
    checkClassName(name);
    return this.write(() => {
      const existing = this.db
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
      const max = this.db
        .select({ m: sql<number>`coalesce(max(${s.classes.position}), -1)` })
        .from(s.classes)
        .where(eq(s.classes.projectId, projectId))
        .get()!.m;
      const row = this.db
        .insert(s.classes)
        .values({ projectId, name, position: max + 1 })
        .returning()
        .get();
      // The new class has no predictions yet: 1 more bit of entropy on every image.
      this.stmt('UPDATE label_images SET entropy = entropy + 1 WHERE project_id = ?').run(projectId);
      return { id: row.id, name: row.name, position: row.position, retired: false };
    });
  }

  /** Renames a class; its labels stay with it (they reference the class id, not the name). */
  renameClass(projectId: string, from: string, to: string): ClassInfo {
    checkClassName(to);
    return this.write(() => {
      const c = this.classByName(projectId, from);
      if (from === to) return c;
      const clash = this.db
        .select({ id: s.classes.id })
        .from(s.classes)
        .where(and(eq(s.classes.projectId, projectId), eq(s.classes.name, to)))
        .get();
      if (clash) throw new LabelStoreError(`class ${JSON.stringify(to)} already exists`, 409);
      this.db.update(s.classes).set({ name: to }).where(eq(s.classes.id, c.id)).run();
      return { ...c, name: to };
    });
  }

  /** Retired classes leave the labeler's grid and the training targets, but keep their labels and stay in exports. */
  setClassRetired(projectId: string, name: string, retired: boolean): ClassInfo {
    return this.write(() => {
      const c = this.classByName(projectId, name);
      if (c.retired === retired) return c;
      this.db
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
    this.stmt(
      `UPDATE label_images SET
         known = (SELECT count(*) FROM label_values v JOIN label_classes c ON c.id = v.class_id
                   WHERE v.image_id = label_images.id AND c.retired = 0),
         entropy = ? + coalesce((SELECT sum(p.h - 1) FROM label_predictions p JOIN label_classes c ON c.id = p.class_id
                                  WHERE p.image_id = label_images.id AND c.retired = 0), 0)
       WHERE project_id = ?`,
    ).run(this.activeClassCount(projectId), projectId);
  }

  /** Adds delta to the progress counter of (class, validation, value). */
  private bumpCount(classId: number, validation: number, value: number, delta: number): void {
    this.stmt(
      `INSERT INTO label_class_counts (class_id, validation, value, n) VALUES (?, ?, ?, ?)
       ON CONFLICT (class_id, validation, value) DO UPDATE SET n = n + excluded.n`,
    ).run(classId, validation, value, delta);
  }

  // ---- labels ----
  setLabel(projectId: string, key: string, className: string, value: LabelValue, actor: string): WriteResult {
    checkValue(value);
    checkActor(actor);
    return this.write(() => {
      const imageId = this.imageId(projectId, key);
      const c = this.classByName(projectId, className);
      if (c.retired)
        throw new LabelStoreError(
          `class ${JSON.stringify(className)} is retired; restore it to label it`,
          409,
        );
      return this.writeCell(projectId, imageId, c.id, value, actor, null);
    });
  }

  private readCell(imageId: number, classId: number): LabelValue {
    const row = this.stmt('SELECT value FROM label_values WHERE image_id = ? AND class_id = ?').get(
      imageId,
      classId,
    ) as { value: 0 | 1 } | undefined;
    return row ? row.value : null;
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
    const oldValue = this.readCell(imageId, classId);
    const image = this.stmt('SELECT exclude, validation FROM label_images WHERE id = ?').get(imageId) as {
      exclude: number;
      validation: number;
    };
    const retired = (
      this.stmt('SELECT retired FROM label_classes WHERE id = ?').get(classId) as { retired: number }
    ).retired;
    const knownDelta = (value === null ? 0 : 1) - (oldValue === null ? 0 : 1);
    if (knownDelta !== 0 && retired === 0)
      this.stmt('UPDATE label_images SET known = known + ? WHERE id = ?').run(knownDelta, imageId);
    if (image.exclude === 0 && oldValue !== value) {
      if (oldValue !== null) this.bumpCount(classId, image.validation, oldValue, -1);
      if (value !== null) this.bumpCount(classId, image.validation, value, 1);
    }
    if (value === null)
      this.stmt('DELETE FROM label_values WHERE image_id = ? AND class_id = ?').run(imageId, classId);
    else
      this.stmt(
        `INSERT INTO label_values (image_id, class_id, value) VALUES (?, ?, ?)
         ON CONFLICT (image_id, class_id) DO UPDATE SET value = excluded.value`,
      ).run(imageId, classId, value);
    const h = this.stmt(
      `INSERT INTO label_history (project_id, image_id, field, class_id, old_value, new_value, actor, at, undoes)
       VALUES (?, ?, 'label', ?, ?, ?, ?, ?, ?)`,
    ).run(projectId, imageId, classId, oldValue, value, actor, Date.now(), undoes);
    return { historyId: Number(h.lastInsertRowid), oldValue, newValue: value };
  }

  setFlag(projectId: string, key: string, flag: Flag, value: boolean, actor: string): WriteResult {
    if (flag !== 'exclude' && flag !== 'validation')
      throw new LabelStoreError(`unknown flag ${JSON.stringify(flag)}`);
    checkActor(actor);
    return this.write(() =>
      this.writeFlag(projectId, this.imageId(projectId, key), flag, value ? 1 : 0, actor, null),
    );
  }

  private writeFlag(
    projectId: string,
    imageId: number,
    flag: Flag,
    value: 0 | 1,
    actor: string,
    undoes: number | null,
  ): WriteResult {
    const col = flag === 'exclude' ? s.images.exclude : s.images.validation;
    const oldValue = this.db.select({ v: col }).from(s.images).where(eq(s.images.id, imageId)).get()!.v as
      0 | 1;
    if (oldValue !== value) this.moveCounts(imageId, flag, value);
    this.db
      .update(s.images)
      .set({ [flag]: value })
      .where(eq(s.images.id, imageId))
      .run();
    const h = this.db
      .insert(s.history)
      .values({
        projectId,
        imageId,
        field: flag,
        classId: null,
        oldValue,
        newValue: value,
        actor,
        at: Date.now(),
        undoes,
      })
      .returning({ id: s.history.id })
      .get();
    return { historyId: h.id, oldValue, newValue: value };
  }

  /** Keeps the progress counters right when an image's exclude or validation flag is about to become `value`. */
  private moveCounts(imageId: number, flag: Flag, value: 0 | 1): void {
    const image = this.stmt('SELECT exclude, validation FROM label_images WHERE id = ?').get(imageId) as {
      exclude: number;
      validation: number;
    };
    const labels = this.stmt('SELECT class_id AS classId, value FROM label_values WHERE image_id = ?').all(
      imageId,
    ) as { classId: number; value: number }[];
    const before = image.exclude === 0 ? image.validation : undefined;
    const after =
      flag === 'exclude'
        ? value === 0
          ? image.validation
          : undefined
        : image.exclude === 0
          ? value
          : undefined;
    for (const l of labels) {
      if (before !== undefined) this.bumpCount(l.classId, before, l.value, -1);
      if (after !== undefined) this.bumpCount(l.classId, after, l.value, 1);
    }
  }

  /**
   * Reverts this actor's most recent change that is not itself an undo and not yet undone. The revert is a new history
   * row. If someone else has changed the same cell since, the undo is refused (409) rather than clobbering their write.
   * Returns undefined when there is nothing to undo.
   */
  undo(projectId: string, actor: string): (WriteResult & { undone: HistoryEntry }) | undefined {
    checkActor(actor);
    this.project(projectId);
    return this.write(() => {
      const undoneIds = this.db
        .select({ id: s.history.undoes })
        .from(s.history)
        .where(
          and(
            eq(s.history.projectId, projectId),
            eq(s.history.actor, actor),
            sql`${s.history.undoes} IS NOT NULL`,
          ),
        );
      const target = this.db
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
          : (this.db
              .select({ v: target.field === 'exclude' ? s.images.exclude : s.images.validation })
              .from(s.images)
              .where(eq(s.images.id, target.imageId))
              .get()!.v as 0 | 1);
      if (current !== target.newValue) {
        throw new LabelStoreError(
          'cannot undo: someone else changed that value since; set it by hand instead',
          409,
        );
      }
      const res =
        target.field === 'label'
          ? this.writeCell(
              projectId,
              target.imageId,
              target.classId!,
              target.oldValue as LabelValue,
              actor,
              target.id,
            )
          : this.writeFlag(
              projectId,
              target.imageId,
              target.field,
              target.oldValue as 0 | 1,
              actor,
              target.id,
            );
      return { ...res, undone: this.historyEntries(projectId, { ids: [target.id] })[0]! };
    });
  }

  historyEntries(
    projectId: string,
    options: { limit?: number; ids?: number[]; imageKey?: string } = {},
  ): HistoryEntry[] {
    if (!options.ids && !options.imageKey && options.limit) {
      // The page's recent changes: walk the (project_id, id) index backwards and stop after `limit` rows.
      return this.stmt(
        `SELECT h.id, i.key AS imageKey, h.field, c.name AS className, h.old_value AS oldValue,
                h.new_value AS newValue, h.actor, h.at, h.undoes
           FROM label_history h INDEXED BY label_history_project_id
           JOIN label_images i ON i.id = h.image_id LEFT JOIN label_classes c ON c.id = h.class_id
          WHERE h.project_id = ? ORDER BY h.id DESC LIMIT ?`,
      ).all(projectId, options.limit) as HistoryEntry[];
    }
    const conds = [eq(s.history.projectId, projectId)];
    if (options.ids) conds.push(inArray(s.history.id, options.ids));
    if (options.imageKey) conds.push(eq(s.images.key, options.imageKey));
    const q = this.db
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
    return rows.map((r) => ({
      ...r,
      oldValue: r.oldValue as LabelValue,
      newValue: r.newValue as LabelValue,
    }));
  }

  /** Positive and negative counts per class, training (validation false) and validation rows apart; excluded rows skipped. */
  counts(projectId: string, options: { includeRetired?: boolean } = {}): ClassCounts[] {
    const cls = this.classes(projectId, options);
    const rows = this.stmt(
      `SELECT k.class_id AS classId, k.validation AS val, k.value AS value, k.n AS n
         FROM label_class_counts k JOIN label_classes c ON c.id = k.class_id
        WHERE c.project_id = ?`,
    ).all(projectId) as { classId: number; val: number; value: number; n: number }[];
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

  // ---- predictions ----
  /** Replaces the stored predictions of the given images: probs[i][j] for keys[i] and classNames[j]. */
  setPredictions(projectId: string, keys: string[], classNames: string[], probs: ArrayLike<number>[]): void {
    const classIds = classNames.map((n) => this.classByName(projectId, n).id);
    const dup = classNames.find((n, i) => classNames.indexOf(n) !== i);
    if (dup !== undefined) throw new LabelStoreError(`class ${JSON.stringify(dup)} is listed twice`);
    this.write(() => {
      const ins = this.stmt(
        `INSERT INTO label_predictions (image_id, class_id, p, h) VALUES (?, ?, ?, ?)
         ON CONFLICT (image_id, class_id) DO UPDATE SET p = excluded.p, h = excluded.h`,
      );
      const entropy = this.stmt(
        `UPDATE label_images SET entropy = @active + coalesce((SELECT sum(p.h - 1) FROM label_predictions p
            JOIN label_classes c ON c.id = p.class_id WHERE p.image_id = @id AND c.retired = 0), 0) WHERE id = @id`,
      );
      const active = this.activeClassCount(projectId);
      keys.forEach((key, i) => {
        const imageId = this.imageId(projectId, key);
        const row = probs[i]!;
        if (row.length !== classIds.length)
          throw new LabelStoreError(
            `predictions row ${i} has ${row.length} values, expected ${classIds.length}`,
          );
        classIds.forEach((cid, j) => {
          const p = row[j]!;
          if (!(p >= 0 && p <= 1))
            throw new LabelStoreError(`prediction for ${key}/${classNames[j]} is ${p}, not in [0, 1]`);
          ins.run(imageId, cid, p, binaryEntropy(p));
        });
        entropy.run({ active, id: imageId });
      });
      const recount = this.stmt(
        'UPDATE label_classes SET predicted = (SELECT count(*) FROM label_predictions WHERE class_id = @id) WHERE id = @id',
      );
      for (const cid of classIds) recount.run({ id: cid });
    });
  }

  /** Map image id -> (class id -> p) for the given images only. */
  predictionsFor(imageIds: number[]): Map<number, Map<number, number>> {
    const q = this.stmt('SELECT class_id AS classId, p FROM label_predictions WHERE image_id = ?');
    const out = new Map<number, Map<number, number>>();
    for (const id of imageIds) {
      const rows = q.all(id) as { classId: number; p: number }[];
      if (rows.length > 0) out.set(id, new Map(rows.map((r) => [r.classId, r.p])));
    }
    return out;
  }

  /** Whether any image of the project has a stored prediction (the model-based orderings need one). */
  hasPredictions(projectId: string): boolean {
    return !!this.stmt('SELECT 1 FROM label_classes WHERE project_id = ? AND predicted > 0 LIMIT 1').get(
      projectId,
    );
  }

  /** Map image id -> (class id -> p). */
  predictions(projectId: string): Map<number, Map<number, number>> {
    const rows = this.sqlite
      .prepare(
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
