// The labeler's map in the label store: 2-D points per image from one model's embeddings (written in slices by the
// active-learning round), the columns the map page draws, and each labeler's lasso selection.
import { LabelStoreError } from './errors.ts';
import type { LabelStore } from './store.ts';

export interface MapInfo {
  modelHash: string;
  method: string;
  /** Points stored for this model hash: a map written in slices is complete when it covers every embedded image. */
  count: number;
  updatedAt: number;
}

export interface MapSlice {
  modelHash: string;
  method: string;
  keys: string[];
  /** x, y per key, row-major. */
  xy: number[];
}

/** Every point of the map with one class's label and prediction, as columns. */
export interface MapColumns {
  modelHash: string;
  method: string;
  className: string | null;
  keys: string[];
  x: number[];
  y: number[];
  /** 1 yes, 0 no, -1 unknown. */
  label: number[];
  /** The stored prediction for the class, or -1 where there is none. */
  p: number[];
}

export function mapInfo(store: LabelStore, projectId: string): MapInfo | undefined {
  const row = store
    .stmt('SELECT model_hash AS modelHash, method, updated_at AS updatedAt FROM label_maps WHERE project_id = ?')
    .get(projectId) as Omit<MapInfo, 'count'> | undefined;
  if (!row) return undefined;
  const { n } = store
    .stmt('SELECT count(*) AS n FROM label_map_points WHERE project_id = ? AND model_hash = ?')
    .get(projectId, row.modelHash) as { n: number };
  return { ...row, count: n };
}

/** Stores a slice of the map; the first slice of a new model hash replaces the points of the previous one. */
export function putMapSlice(store: LabelStore, projectId: string, slice: MapSlice): MapInfo {
  if (slice.xy.length !== slice.keys.length * 2)
    throw new LabelStoreError(`xy holds ${slice.xy.length} numbers; it needs 2 per key (${slice.keys.length * 2})`);
  store.write(() => {
    const current = mapInfo(store, projectId);
    if (current?.modelHash !== slice.modelHash) {
      store.stmt('DELETE FROM label_map_points WHERE project_id = ?').run(projectId);
      store.stmt('DELETE FROM label_map_selection WHERE project_id = ?').run(projectId);
    }
    store
      .stmt(
        `INSERT INTO label_maps (project_id, model_hash, method, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (project_id) DO UPDATE SET model_hash = excluded.model_hash, method = excluded.method,
         updated_at = excluded.updated_at`,
      )
      .run(projectId, slice.modelHash, slice.method, Date.now());
    const insert = store.stmt(
      `INSERT INTO label_map_points (project_id, image_id, model_hash, method, x, y) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (project_id, image_id) DO UPDATE SET model_hash = excluded.model_hash, method = excluded.method,
       x = excluded.x, y = excluded.y`,
    );
    for (const [i, key] of slice.keys.entries())
      insert.run(projectId, store.imageId(projectId, key), slice.modelHash, slice.method, slice.xy[2 * i], slice.xy[2 * i + 1]);
  });
  return mapInfo(store, projectId)!;
}

export function mapColumns(store: LabelStore, projectId: string, className: string | undefined): MapColumns | undefined {
  const info = mapInfo(store, projectId);
  if (!info) return undefined;
  const classes = store.classes(projectId);
  const c = className === undefined ? classes[0] : classes.find((x) => x.name === className);
  if (className !== undefined && !c)
    throw new LabelStoreError(
      `class: no active class ${JSON.stringify(className)} in project ${projectId}; use one of ${classes.map((x) => JSON.stringify(x.name)).join(', ')}`,
    );
  const rows = store
    .stmt(
      `SELECT i.key, m.x, m.y, v.value, pr.p FROM label_map_points m
       JOIN label_images i ON i.id = m.image_id
       LEFT JOIN label_values v ON v.image_id = m.image_id AND v.class_id = ?
       LEFT JOIN label_predictions pr ON pr.image_id = m.image_id AND pr.class_id = ?
       WHERE m.project_id = ? AND m.model_hash = ? ORDER BY m.image_id`,
    )
    .raw()
    .all(c?.id ?? -1, c?.id ?? -1, projectId, info.modelHash) as [string, number, number, number | null, number | null][];
  const out: MapColumns = {
    modelHash: info.modelHash,
    method: info.method,
    className: c?.name ?? null,
    keys: new Array(rows.length),
    x: new Array(rows.length),
    y: new Array(rows.length),
    label: new Array(rows.length),
    p: new Array(rows.length),
  };
  for (const [i, [key, x, y, value, p]] of rows.entries()) {
    out.keys[i] = key;
    out.x[i] = x;
    out.y[i] = y;
    out.label[i] = value ?? -1;
    out.p[i] = p ?? -1;
  }
  return out;
}

/** Replaces the labeler's selection; keys must be images of the project. */
export function setSelection(store: LabelStore, projectId: string, actor: string, keys: string[]): number {
  return store.write(() => {
    store.stmt('DELETE FROM label_map_selection WHERE project_id = ? AND actor = ?').run(projectId, actor);
    const insert = store.stmt(
      'INSERT OR IGNORE INTO label_map_selection (project_id, actor, image_id) VALUES (?, ?, ?)',
    );
    for (const key of keys) insert.run(projectId, actor, store.imageId(projectId, key));
    return selectionKeys(store, projectId, actor).length;
  });
}

export function selectionKeys(store: LabelStore, projectId: string, actor: string): string[] {
  return store
    .stmt(
      `SELECT i.key FROM label_map_selection s JOIN label_images i ON i.id = s.image_id
       WHERE s.project_id = ? AND s.actor = ? ORDER BY i.id`,
    )
    .pluck()
    .all(projectId, actor) as string[];
}
