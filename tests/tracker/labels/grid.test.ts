// The labeler's SQL picks (tracker/labels/grid.ts) against the documented semantics in ml/active/query.ts, computed
// the old way from the whole table, on a small project with labels, flags, a retired class, ties and missing
// predictions; and the derived columns and counters the picks rely on, after a mixed sequence of writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pickIndices, sortOptions, subsetOptions, subsetRows } from '../../../ml/active/query.ts';
import Database from 'better-sqlite3';
import { Rng } from '../../../ml/rng.ts';
import { GridPicker, QUEUE_SORT } from '../../../tracker/labels/grid.ts';
import { migrate, MIGRATIONS_DIR } from '../../../tracker/labels/migrate.ts';
import { setQueue } from '../../../tracker/labels/queue.ts';
import { toLabelTable } from '../../../tracker/labels/label-table.ts';
import { LabelStore, type ClassCounts } from '../../../tracker/labels/store.ts';

const N = 60;
const key = (i: number) => `img/${String(i).padStart(3, '0')}.png`;
// Prediction rows from a short list, so per-class scores and 'max entropy' sums tie exactly or clearly differ; no two
// probabilities are symmetric around 0.5 except 0 and 1, which clip to the same entropy in both implementations (others
// would tie only up to rounding). A later update of one class uses 0.25 or 0.5, which makes no row a permutation of
// another.
const ROWS = [
  [0.1, 0.6, 0.95],
  [0.5, 0.5, 0.25],
  [0.85, 0.1, 0.1],
  [0.6, 0.6, 0.6],
  [0.95, 0.25, 0.5],
  // Both clipped ends (binary entropy clips p to [1e-8, 1 - 1e-8]): 0 and 1e-9 tie on entropy but not on p.
  [1, 1e-9, 0.6],
  [0, 1, 0.95],
];

async function withProject<T>(fn: (store: LabelStore) => T): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'labels-grid-'));
  const store = LabelStore.open(join(dir, 'labels.db'));
  try {
    store.createProject('p');
    store.addImages(
      'p',
      Array.from({ length: N }, (_, i) => ({ key: key(i) })),
    );
    for (const name of ['cat', 'dog', 'bird', 'old']) store.addClass('p', name);
    const rng = Rng.fromSeed(7);
    const pick = <V>(xs: V[]) => xs[Math.floor(rng.next() * xs.length)]!;
    for (let i = 0; i < N; i++) {
      // About a third unlabeled, a third partial, a third fully labelled.
      const labelled = i % 3 === 0 ? [] : i % 3 === 1 ? ['cat'] : ['cat', 'dog', 'bird'];
      for (const c of labelled) store.setLabel('p', key(i), c, pick([0, 1] as const), 'ann');
      if (i % 4 === 0) store.setLabel('p', key(i), 'old', 1, 'ann');
      if (i % 7 === 3) store.setFlag('p', key(i), 'exclude', true, 'ann');
      if (i % 5 === 2) store.setFlag('p', key(i), 'validation', true, 'ann');
    }
    store.setClassRetired('p', 'old', true);
    // Predictions for all but every sixth image; per-class rows for whole-row ties, plus one class-only update.
    const predicted = Array.from({ length: N }, (_, i) => i).filter((i) => i % 6 !== 5);
    store.setPredictions(
      'p',
      predicted.map(key),
      ['cat', 'dog', 'bird'],
      predicted.map(() => pick(ROWS)),
    );
    const some = predicted.filter((i) => i % 4 === 1);
    store.setPredictions(
      'p',
      some.map(key),
      ['dog'],
      some.map(() => [pick([0.25, 0.5])]),
    );
    return fn(store);
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** What the page computed before: the whole table and every prediction through pickIndices. */
function expected(store: LabelStore, subset: string, sort: string, count: number): number[] {
  const classes = store.classes('p');
  const rows = store.table('p');
  const table = toLabelTable(rows, classes);
  const preds = store.predictions('p');
  const probs = new Float32Array(rows.length * classes.length).fill(0.5);
  rows.forEach((r, i) =>
    classes.forEach((c, j) => (probs[i * classes.length + j] = preds.get(r.id)?.get(c.id) ?? 0.5)),
  );
  const pick = pickIndices(table, { subset, sort, count, rng: Rng.fromSeed(1), probs });
  return pick.indices.map((i) => rows[i]!.id);
}

test('every subset with every model ordering gives what pickIndices gives over the whole table', () =>
  withProject((store) => {
    const names = store.classes('p').map((c) => c.name);
    assert.deepEqual(names, ['cat', 'dog', 'bird']);
    const picker = new GridPicker(store);
    const sorts = sortOptions(names).filter((s) => s !== 'random' && s !== 'diverse (badge)');
    let nonEmpty = 0;
    for (const subset of subsetOptions(names)) {
      for (const sort of sorts) {
        for (const count of [1, 4, 9, N]) {
          const got = picker.pick('p', store.classes('p'), { subset, sort, count, seed: 5 });
          assert.deepEqual(got.ids, expected(store, subset, sort, count), `${subset} / ${sort} / ${count}`);
          if (got.ids.length > 0) nonEmpty++;
        }
      }
    }
    assert.ok(nonEmpty > 100, `most combinations pick something (${nonEmpty})`);
  }));

test("'random' walks the subset from the seed in a fixed random order and wraps around; seeds differ", () =>
  withProject((store) => {
    const names = store.classes('p').map((c) => c.name);
    const classes = store.classes('p');
    const picker = new GridPicker(store);
    const randKey = new Map(
      (
        store.sqlite.prepare('SELECT id, rand_key AS r FROM label_images').all() as {
          id: number;
          r: number;
        }[]
      ).map((x) => [x.id, x.r]),
    );
    const rows = store.table('p');
    const table = toLabelTable(rows, classes);
    for (const subset of subsetOptions(names)) {
      const members = subsetRows(table, subset).map((i) => rows[i]!.id);
      const cyclic = (seed: number) => {
        const sorted = [...members].sort((a, b) => randKey.get(a)! - randKey.get(b)! || a - b);
        const from = sorted.findIndex((id) => randKey.get(id)! >= seed);
        return from < 0 ? sorted : [...sorted.slice(from), ...sorted.slice(0, from)];
      };
      for (const seed of [0, 123_456_789, 2 ** 31 - 1]) {
        for (const count of [3, N]) {
          const got = picker.pick('p', classes, { subset, sort: 'random', count, seed });
          assert.deepEqual(got.ids, cyclic(seed).slice(0, count), `${subset}, seed ${seed}, count ${count}`);
        }
      }
    }
    const a = picker.pick('p', classes, { subset: 'not excluded', sort: 'random', count: 9, seed: 1 }).ids;
    const b = picker.pick('p', classes, {
      subset: 'not excluded',
      sort: 'random',
      count: 9,
      seed: 2 ** 30,
    }).ids;
    assert.notDeepEqual(a, b);
  }));

test('an empty subset and a project without predictions say so; BADGE picks distinct images of the subset', () =>
  withProject((store) => {
    const classes = store.classes('p');
    const picker = new GridPicker(store);
    const badge = picker.pick('p', classes, {
      subset: 'not excluded',
      sort: 'diverse (badge)',
      count: 9,
      seed: 3,
    });
    assert.equal(badge.ids.length, 9);
    assert.equal(new Set(badge.ids).size, 9);
    const excluded = new Set(
      store
        .table('p')
        .filter((r) => r.exclude)
        .map((r) => r.id),
    );
    assert.ok(badge.ids.every((id) => !excluded.has(id)));

    store.createProject('q');
    store.addImages('q', [{ key: 'a.png' }, { key: 'b.png' }]);
    store.addClass('q', 'cat');
    const qClasses = store.classes('q');
    const noModel = picker.pick('q', qClasses, { subset: 'unlabeled', sort: 'high: cat', count: 9, seed: 0 });
    assert.equal(noModel.note, 'no predictions yet: random order');
    assert.equal(noModel.ids.length, 2);
    const empty = picker.pick('q', qClasses, { subset: 'fully labeled', sort: 'random', count: 9, seed: 0 });
    assert.deepEqual(empty, { ids: [], note: 'the subset "fully labeled" is empty' });
  }));

test('the queue ordering: published order, skipping excluded and fully labelled images, within the subset', () =>
  withProject((store) => {
    const classes = store.classes('p');
    const picker = new GridPicker(store);
    const order = [40, 3, 17, 2, 0, 59, 31, 10, 25, 6, 1];
    setQueue(store, 'p', { round: 2, sort: 'diverse (badge)', keys: order.map(key) });
    const rows = new Map(store.table('p').map((r) => [r.key, r]));
    const fully = (k: string) => classes.every((c) => rows.get(k)!.labels.has(c.id));
    const shown = order.map(key).filter((k) => !rows.get(k)!.exclude && !fully(k));
    assert.ok(shown.length >= 4 && shown.length < order.length, 'the fixture skips some queue items');
    const ids = (subset: string, count: number) =>
      store
        .rowsById(picker.pick('p', classes, { subset, sort: QUEUE_SORT, count, seed: 0 }).ids)
        .map((r) => r.key);
    assert.deepEqual(ids('not excluded', N), shown);
    assert.deepEqual(ids('not excluded', 3), shown.slice(0, 3));
    assert.deepEqual(
      ids('unlabeled', N),
      shown.filter((k) => classes.every((c) => !rows.get(k)!.labels.has(c.id))),
    );
    assert.deepEqual(ids('excluded', N), []);
    // Labelling an image fully takes it out of the queue view.
    const first = shown[0]!;
    for (const c of classes) store.setLabel('p', first, c.name, 0, 'ann');
    assert.deepEqual(ids('not excluded', N), shown.slice(1));
  }));

test("'maxent: C' at every count where the cut falls among clipped probabilities (equal entropy, unequal p)", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'labels-clip-'));
  const store = LabelStore.open(join(dir, 'labels.db'));
  try {
    store.createProject('p');
    const ps = [0.3, 1e-9, 0, 1e-9, 0, 1, 0, 1e-9, 0.5, 1e-9, 0, 1, 1];
    store.addImages(
      'p',
      ps.map((_, i) => ({ key: key(i) })),
    );
    store.addClass('p', 'cat');
    store.setPredictions(
      'p',
      ps.map((_, i) => key(i)),
      ['cat'],
      ps.map((p) => [p]),
    );
    const picker = new GridPicker(store);
    for (let count = 1; count <= ps.length; count++)
      for (const sort of ['maxent: cat', 'high: cat', 'low: cat'])
        assert.deepEqual(
          picker.pick('p', store.classes('p'), { subset: 'not excluded', sort, count, seed: 0 }).ids,
          expected(store, 'not excluded', sort, count),
          `${sort}, count ${count}`,
        );
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** The progress table as the old aggregate computed it, from the whole table. */
function countsFromTable(store: LabelStore): ClassCounts[] {
  const rows = store.table('p');
  return store.classes('p', { includeRetired: true }).map((c) => {
    const n = (val: boolean, v: 0 | 1) =>
      rows.filter((r) => !r.exclude && r.validation === val && r.labels.get(c.id) === v).length;
    return {
      name: c.name,
      retired: c.retired,
      trainPos: n(false, 1),
      trainNeg: n(false, 0),
      valPos: n(true, 1),
      valNeg: n(true, 0),
    };
  });
}

/** Counters, known counts and entropies equal what they mean, recomputed from the whole table. */
function checkDerived(store: LabelStore, when: string): void {
  assert.deepEqual(store.counts('p', { includeRetired: true }), countsFromTable(store), `counts ${when}`);
  const active = store.classes('p');
  const preds = store.predictions('p');
  const derived = store.sqlite.prepare('SELECT id, known, entropy FROM label_images').all() as {
    id: number;
    known: number;
    entropy: number;
  }[];
  const rows = new Map(store.table('p').map((r) => [r.id, r]));
  for (const d of derived) {
    assert.equal(d.known, active.filter((c) => rows.get(d.id)!.labels.has(c.id)).length, `known ${when}`);
    const h = active.reduce((sum, c) => {
      const p = Math.min(Math.max(preds.get(d.id)?.get(c.id) ?? 0.5, 1e-8), 1 - 1e-8);
      return sum - (p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
    }, 0);
    assert.ok(Math.abs(d.entropy - h) < 1e-9, `entropy ${when}: ${d.entropy} vs ${h}`);
  }
  const predicted = store.sqlite.prepare('SELECT id, predicted FROM label_classes').all() as {
    id: number;
    predicted: number;
  }[];
  for (const c of predicted)
    assert.equal(c.predicted, [...preds.values()].filter((m) => m.has(c.id)).length, `predicted ${when}`);
}

test('counters, known counts and entropies stay right through labels, flags, undo, retire, restore and new classes', () =>
  withProject((store) => {
    const rng = Rng.fromSeed(11);
    const pick = <V>(xs: readonly V[]) => xs[Math.floor(rng.next() * xs.length)]!;
    const check = (when: string) => checkDerived(store, when);
    check('after setup');
    for (let step = 0; step < 150; step++) {
      const k = key(Math.floor(rng.next() * N));
      const r = rng.next();
      if (r < 0.5)
        store.setLabel(
          'p',
          k,
          pick(['cat', 'dog', 'bird']),
          pick([0, 1, null] as const),
          pick(['ann', 'bob']),
        );
      else if (r < 0.75)
        store.setFlag(
          'p',
          k,
          pick(['exclude', 'validation'] as const),
          rng.next() < 0.5,
          pick(['ann', 'bob']),
        );
      else {
        try {
          store.undo('p', pick(['ann', 'bob']));
        } catch {
          // 409: someone else changed that cell since; nothing changed.
        }
      }
    }
    check('after random writes and undos');
    store.setClassRetired('p', 'dog', true);
    check('after retiring dog');
    store.setClassRetired('p', 'old', false);
    check('after restoring old');
    store.addClass('p', 'fish');
    check('after adding fish');
  }));

test('opening a store made before the 0002 migration fills the new columns and counters from its data', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'labels-migrate-'));
  try {
    const onlyFirst = join(dir, 'migrations');
    await mkdir(join(onlyFirst, 'meta'), { recursive: true });
    await copyFile(join(MIGRATIONS_DIR, '0001_init.sql'), join(onlyFirst, '0001_init.sql'));
    const journal = JSON.parse(await readFile(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8'));
    journal.entries = journal.entries.slice(0, 1);
    await writeFile(join(onlyFirst, 'meta', '_journal.json'), JSON.stringify(journal));
    const path = join(dir, 'labels.db');
    const db = new Database(path);
    migrate(db, onlyFirst);
    db.exec(`INSERT INTO label_projects (id, name, root, created_at) VALUES ('p', 'p', '', 0);
      INSERT INTO label_classes (project_id, name, position, retired) VALUES ('p', 'cat', 0, 0), ('p', 'dog', 1, 0),
        ('p', 'old', 2, 1);`);
    const image = db.prepare(
      'INSERT INTO label_images (project_id, key, position, exclude, validation) VALUES (?, ?, ?, ?, ?)',
    );
    const cell = db.prepare('INSERT INTO label_values (image_id, class_id, value) VALUES (?, ?, ?)');
    const pred = db.prepare('INSERT INTO label_predictions (image_id, class_id, p) VALUES (?, ?, ?)');
    const ps = [0, 0.3, 1, 0.77, 0.5];
    for (let i = 0; i < 30; i++) {
      const id = Number(image.run('p', key(i), i, i % 7 === 3 ? 1 : 0, i % 5 === 2 ? 1 : 0).lastInsertRowid);
      if (i % 3 !== 0) cell.run(id, 1, i % 2);
      if (i % 3 === 2) cell.run(id, 2, 1);
      if (i % 4 === 0) cell.run(id, 3, 1);
      if (i % 6 !== 5) pred.run(id, 1, ps[i % 5]);
      if (i % 2 === 0) pred.run(id, 2, ps[(i + 2) % 5]);
    }
    db.close();

    const store = LabelStore.open(path);
    try {
      checkDerived(store, 'after migrating');
      const keys = new Set(
        store.sqlite
          .prepare('SELECT rand_key AS r FROM label_images')
          .all()
          .map((x) => (x as { r: number }).r),
      );
      assert.ok(keys.size > 25, 'images got random keys');
      const picker = new GridPicker(store);
      for (const sort of ['max entropy', 'high: cat', 'maxent: dog'])
        for (const subset of ['not excluded', 'partially labeled'])
          assert.deepEqual(
            picker.pick('p', store.classes('p'), { subset, sort, count: 30, seed: 0 }).ids,
            expected(store, subset, sort, 30),
            `${subset} / ${sort}`,
          );
    } finally {
      store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
