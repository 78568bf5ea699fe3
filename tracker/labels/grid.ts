// Picks the labeler page's cards with SQL: every subset and ordering of ml/active/query.ts (pickIndices), plus the
// project's active-learning queue, answered with index walks that stop after `count` rows instead of reading the whole
// project. Semantics match pickIndices except 'random' (a walk over a stable per-image random key from a seeded offset,
// not a fresh sample each time) and 'diverse (badge)' (BADGE over the most uncertain images, not over the whole subset).
import { CLASS_SORTS, CLASS_SUBSETS, sortOptions, subsetOptions } from '../../ml/active/query.ts';
import { badgeSelect } from '../../ml/active/diversity.ts';
import { Rng } from '../../ml/rng.ts';
import type { ClassInfo, LabelStore } from './store.ts';

export const QUEUE_SORT = 'active learning queue';
/** The images the labeler lassoed on the map (map-store.ts), not excluded. */
export const MAP_SELECTION = 'map selection';
/** How many of the most uncertain images 'diverse (badge)' chooses from, per card on the page. */
const BADGE_POOL_PER_CARD = 30;
/** Probabilities are clipped to [CLIP, 1 - CLIP] before their entropy is taken (ml/active/query.ts binaryEntropy). */
const CLIP = 1e-8;

export interface GridRequest {
  subset: string;
  sort: string;
  /** Cards wanted (dim * dim). */
  count: number;
  /** Picks the random ordering's starting point and BADGE's draws; 0 <= seed < 2^31. */
  seed: number;
  /** The labeler whose map selection the 'map selection' subset shows. */
  labeler?: string;
}
export interface GridPick {
  /** Image ids, in display order. */
  ids: number[];
  note?: string;
}

/** The subset as indexed predicates: exclude flag, a range of the `known` count, and any further condition. */
interface SubsetWhere {
  exclude: 0 | 1;
  knownLo: number;
  knownHi: number;
  extra: string;
  extraParams: unknown[];
}

interface Scored {
  id: number;
  s: number;
}

function splitOption(option: string, kinds: readonly string[], classes: ClassInfo[]) {
  for (const kind of kinds) {
    const prefix = `${kind}: `;
    if (option.startsWith(prefix)) {
      const c = classes.find((x) => x.name === option.slice(prefix.length));
      if (c) return { kind, c };
    }
  }
  return undefined;
}

function subsetWhere(subset: string, classes: ClassInfo[]): SubsetWhere {
  const k = classes.length;
  const where = (
    exclude: 0 | 1,
    knownLo: number,
    knownHi: number,
    extra = '',
    extraParams: unknown[] = [],
  ) => ({
    exclude,
    knownLo,
    knownHi,
    extra,
    extraParams,
  });
  const perClass = splitOption(subset, CLASS_SUBSETS, classes);
  if (perClass) {
    const cell = 'SELECT 1 FROM label_values v WHERE v.image_id = i.id AND v.class_id = ?';
    if (perClass.kind === 'unlabeled') return where(0, 0, k, ` AND NOT EXISTS (${cell})`, [perClass.c.id]);
    const value = perClass.kind === 'contains' ? 1 : 0;
    return where(0, 1, k, ` AND EXISTS (${cell} AND v.value = ?)`, [perClass.c.id, value]);
  }
  switch (subset) {
    case 'unlabeled':
      return where(0, 0, 0);
    case 'fully labeled':
      return where(0, k, k);
    case 'partially labeled':
      return where(0, 1, k - 1);
    case 'excluded':
      return where(1, 0, k);
    case 'not excluded':
      return where(0, 0, k);
    case 'validation':
      return where(0, 0, k, ' AND i.validation = 1');
  }
  throw new Error(
    `unknown subset ${JSON.stringify(subset)}; use one of: ${subsetOptions(classes.map((c) => c.name)).join(' | ')}`,
  );
}

const byScore = (descending: boolean) => (a: Scored, b: Scored) =>
  a.s === b.s ? a.id - b.id : descending ? b.s - a.s : a.s - b.s;

export function gridSortOptions(classes: ClassInfo[], hasQueue: boolean): string[] {
  const sorts = sortOptions(classes.map((c) => c.name));
  return hasQueue ? [QUEUE_SORT, ...sorts] : sorts;
}

export class GridPicker {
  constructor(private readonly store: LabelStore) {}

  pick(projectId: string, classes: ClassInfo[], req: GridRequest): GridPick {
    const where =
      req.subset === MAP_SELECTION
        ? {
            exclude: 0 as const,
            knownLo: 0,
            knownHi: classes.length,
            extra: ' AND i.id IN (SELECT image_id FROM label_map_selection WHERE project_id = ? AND actor = ?)',
            extraParams: [projectId, req.labeler ?? ''],
          }
        : subsetWhere(req.subset, classes);
    const count = Math.max(0, req.count);
    const model = req.sort !== 'random' && req.sort !== QUEUE_SORT;
    if (model && !sortOptions(classes.map((c) => c.name)).includes(req.sort))
      throw new Error(
        `unknown sort ${JSON.stringify(req.sort)}; use one of: ${gridSortOptions(classes, true).join(' | ')}`,
      );
    let ids: number[];
    let note: string | undefined;
    if (req.sort === QUEUE_SORT) ids = this.queue(projectId, classes.length, where, count);
    else if (req.sort === 'random' || !this.store.hasPredictions(projectId)) {
      ids = this.random(projectId, where, count, req.seed);
      if (req.sort !== 'random') note = 'no predictions yet: random order';
    } else if (req.sort === 'max entropy') ids = this.byEntropy(projectId, where, count).map((r) => r.id);
    else if (req.sort === 'diverse (badge)') ids = this.badge(projectId, classes, where, count, req.seed);
    else {
      const s = splitOption(req.sort, CLASS_SORTS, classes)!;
      ids = this.byClass(projectId, s.c, s.kind as 'high' | 'low' | 'maxent', where, count);
    }
    if (ids.length === 0 && this.isEmpty(projectId, where)) note = `the subset "${req.subset}" is empty`;
    else if (ids.length === 0 && req.sort === QUEUE_SORT)
      note = 'every queue image in this subset is labelled or excluded: retrain, or pick another ordering';
    return { ids, note };
  }

  private isEmpty(projectId: string, w: SubsetWhere): boolean {
    return !this.store
      .stmt(
        `SELECT 1 FROM label_images i WHERE i.project_id = ? AND i.exclude = ? AND i.known BETWEEN ? AND ?${w.extra} LIMIT 1`,
      )
      .get(projectId, w.exclude, w.knownLo, w.knownHi, ...w.extraParams);
  }

  /**
   * Rows in (rand_key, id) order starting at the seed, wrapping around: one index range per value of `known`, merged.
   */
  private random(projectId: string, w: SubsetWhere, count: number, seed: number): number[] {
    const run = (cmp: '>=' | '<', limit: number) => {
      const q = this.store.stmt(
        `SELECT i.id AS id, i.rand_key AS s FROM label_images i INDEXED BY label_images_pick_random
          WHERE i.project_id = ? AND i.exclude = ? AND i.known = ? AND i.rand_key ${cmp} ?${w.extra}
          ORDER BY i.rand_key, i.id LIMIT ?`,
      );
      const rows: Scored[] = [];
      for (let known = w.knownLo; known <= w.knownHi; known++)
        rows.push(...(q.all(projectId, w.exclude, known, seed, ...w.extraParams, limit) as Scored[]));
      return rows.sort(byScore(false)).slice(0, limit);
    };
    const first = run('>=', count);
    const wrapped = first.length < count ? run('<', count - first.length) : [];
    return [...first, ...wrapped].map((r) => r.id);
  }

  private byEntropy(projectId: string, w: SubsetWhere, count: number): Scored[] {
    const q = this.store.stmt(
      `SELECT i.id AS id, i.entropy AS s FROM label_images i INDEXED BY label_images_pick_entropy
        WHERE i.project_id = ? AND i.exclude = ? AND i.known = ?${w.extra}
        ORDER BY i.entropy DESC, i.id LIMIT ?`,
    );
    const rows: Scored[] = [];
    for (let known = w.knownLo; known <= w.knownHi; known++)
      rows.push(...(q.all(projectId, w.exclude, known, ...w.extraParams, count) as Scored[]));
    return rows.sort(byScore(true)).slice(0, count);
  }

  /**
   * 'high: C' (p descending), 'low: C' (p ascending), 'maxent: C' (binary entropy descending); ties in table order.
   * Walks the class's (class_id, p, image_id) index: 'maxent' walks outwards from p = 0.5 on both sides and merges
   * by the stored entropy h. Images without a prediction for the class score as p = 0.5 and are merged in.
   */
  private byClass(
    projectId: string,
    c: ClassInfo,
    kind: 'high' | 'low' | 'maxent',
    w: SubsetWhere,
    count: number,
  ): number[] {
    if (count === 0) return [];
    const descending = kind !== 'low';
    const from = `FROM label_predictions p INDEXED BY label_predictions_class_p JOIN label_images i ON i.id = p.image_id
      WHERE p.class_id = ? AND i.exclude = ? AND i.known BETWEEN ? AND ?${w.extra}`;
    const params = [c.id, w.exclude, w.knownLo, w.knownHi, ...w.extraParams];
    const score = kind === 'maxent' ? 'p.h' : 'p.p';
    /** The first `count` rows of a walk in p order, completed with every row that ties the last one's score. */
    const walk = (range: string, order: 'ASC' | 'DESC'): Scored[] => {
      const rows = this.store
        .stmt(
          `SELECT p.image_id AS id, ${score} AS s, p.p AS p ${from}${range} ORDER BY p.p ${order} LIMIT ?`,
        )
        .all(...params, count) as (Scored & { p: number })[];
      if (rows.length < count) return rows;
      // A backward walk returns equal p in descending id order, and the count may cut through a tie: fetch the rows
      // that tie the last score in table order. Equal entropy means equal p, or both at the same clipped end.
      const last = rows.at(-1)!;
      const [tie, arg] =
        kind !== 'maxent' || (last.p > CLIP && last.p < 1 - CLIP)
          ? [' AND p.p = ?', last.p]
          : last.p >= 1 - CLIP
            ? [' AND p.p >= ?', 1 - CLIP]
            : [' AND p.p <= ?', CLIP];
      const ties = this.store
        .stmt(`SELECT p.image_id AS id, ${score} AS s ${from}${range}${tie} ORDER BY p.image_id LIMIT ?`)
        .all(...params, arg, count) as Scored[];
      return [...rows.filter((r) => r.s !== last.s), ...ties];
    };
    const predicted =
      kind === 'maxent'
        ? [...walk(' AND p.p >= 0.5', 'ASC'), ...walk(' AND p.p < 0.5', 'DESC')]
        : walk('', descending ? 'DESC' : 'ASC');
    const info = this.store
      .stmt(
        `SELECT c.predicted AS predicted, pr.image_count AS images FROM label_classes c
           JOIN label_projects pr ON pr.id = c.project_id WHERE c.id = ?`,
      )
      .get(c.id) as { predicted: number; images: number };
    let unpredicted: Scored[] = [];
    if (info.predicted < info.images) {
      const s = kind === 'maxent' ? 1 : 0.5;
      unpredicted = (
        this.store
          .stmt(
            `SELECT i.id AS id FROM label_images i
              WHERE i.project_id = ? AND i.exclude = ? AND i.known BETWEEN ? AND ?${w.extra}
                AND NOT EXISTS (SELECT 1 FROM label_predictions p WHERE p.image_id = i.id AND p.class_id = ?)
              ORDER BY i.id LIMIT ?`,
          )
          .all(projectId, w.exclude, w.knownLo, w.knownHi, ...w.extraParams, c.id, count) as { id: number }[]
      ).map((r) => ({ id: r.id, s }));
    }
    return [...predicted, ...unpredicted]
      .sort(byScore(descending))
      .slice(0, count)
      .map((r) => r.id);
  }

  /** Queue items in rank order that are in the subset, not excluded and not fully labelled. */
  private queue(projectId: string, k: number, w: SubsetWhere, count: number): number[] {
    const rows = this.store
      .stmt(
        `SELECT q.image_id AS id FROM label_queue_items q JOIN label_images i ON i.id = q.image_id
          WHERE q.project_id = ? AND i.exclude = 0 AND i.exclude = ? AND i.known BETWEEN ? AND ? AND i.known < ?${w.extra}
          ORDER BY q.rank LIMIT ?`,
      )
      .all(projectId, w.exclude, w.knownLo, w.knownHi, k, ...w.extraParams, count) as { id: number }[];
    return rows.map((r) => r.id);
  }

  /** BADGE (ml/active/diversity.ts) over the most uncertain images of the subset, with the probabilities alone. */
  private badge(
    projectId: string,
    classes: ClassInfo[],
    w: SubsetWhere,
    count: number,
    seed: number,
  ): number[] {
    const pool = this.byEntropy(projectId, w, Math.min(5000, count * BADGE_POOL_PER_CARD)).map((r) => r.id);
    const preds = this.store.predictionsFor(pool);
    const k = classes.length;
    const probs = new Float32Array(pool.length * k).fill(0.5);
    pool.forEach((id, a) => classes.forEach((c, j) => (probs[a * k + j] = preds.get(id)?.get(c.id) ?? 0.5)));
    const chosen = badgeSelect(
      new Float32Array(pool.length).fill(1),
      1,
      probs,
      k,
      pool.map((_, a) => a),
      count,
      Rng.fromSeed(seed),
    );
    return chosen.map((a) => pool[a]!);
  }
}
