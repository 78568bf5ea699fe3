// Databases made before both tracker databases moved to drizzle's migrator still open, keep every row and take writes.
// The fixtures were written by the code of that time: labels-before-drizzle.db by LabelStore (its own migrator, which
// recorded applied files in label_migrations), tracker-before-refactor.db by openTrackerDb and RunRegistry.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { openTrackerDb } from '../../tracker/db/index.ts';
import { RunRegistry } from '../../tracker/db/registry.ts';
import { journal } from '../../tracker/db/migrate.ts';
import { MIGRATIONS_DIR } from '../../tracker/labels/migrate.ts';
import { LabelStore } from '../../tracker/labels/store.ts';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

/** Every row of every table but the migration bookkeeping, as JSON per table. */
function rows(path: string): Record<string, string> {
  const db = new Database(path, { fileMustExist: true });
  try {
    const names = db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('__drizzle_migrations', 'label_migrations') ORDER BY name",
      )
      .pluck()
      .all() as string[];
    return Object.fromEntries(names.map((n) => [n, JSON.stringify(db.prepare(`SELECT * FROM "${n}"`).raw().all())]));
  } finally {
    db.close();
  }
}

async function withCopy(name: string, fn: (path: string) => Promise<void> | void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tracker-migrations-'));
  try {
    const path = join(dir, name);
    await copyFile(fixture(name), path);
    await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a label store made by the earlier migrator opens with every row kept, and takes writes and undos', () =>
  withCopy('labels-before-drizzle.db', (path) => {
    const before = rows(path);
    assert.ok(Object.keys(before).length >= 9, 'the fixture holds the label tables');
    for (let open = 0; open < 2; open++) {
      const store = LabelStore.open(path);
      store.close();
      const after = rows(path);
      // Tables of later migrations are added empty; every table the fixture had keeps its rows.
      assert.deepEqual(Object.fromEntries(Object.keys(before).map((n) => [n, after[n]])), before, `rows unchanged after open ${open + 1}`);
      for (const n of Object.keys(after)) if (!(n in before)) assert.equal(after[n], '[]', `${n} is new and empty`);
    }
    const db = new Database(path);
    assert.equal(
      db.prepare('SELECT count(*) FROM __drizzle_migrations').pluck().get(),
      journal(MIGRATIONS_DIR).length,
      'the three it had recorded, and the later ones applied',
    );
    assert.equal(db.prepare('SELECT count(*) FROM label_migrations').pluck().get(), 3, 'the old record stays');
    db.close();

    const store = LabelStore.open(path);
    try {
      assert.deepEqual(
        store.listProjects().map((p) => [p.id, p.name, p.root]),
        [
          ['cells', 'cells', ''],
          ['flowers', 'Flowers', 'pics'],
        ],
      );
      assert.deepEqual(
        store.counts('flowers', { includeRetired: true }).map((c) => [c.name, c.trainPos, c.trainNeg]),
        [
          ['rose', 1, 0],
          ['tulip', 0, 1],
          ['daisy', 1, 0],
        ],
      );
      assert.equal(store.historyEntries('flowers').length, 8);
      const undone = store.undo('flowers', 'ann');
      assert.equal(undone?.undone.field, 'exclude', "ann's last change, made before the migration, is undone");
      store.setLabel('cells', 'x/1.png', 'dead', 0, 'api');
      assert.equal(store.counts('cells')[0]!.trainNeg, 1);
      assert.deepEqual(store.table('flowers').find((r) => r.key === 'b.png')?.exclude, false);
    } finally {
      store.close();
    }
  }));

test('a label store on which the earlier migrator applied only the first file gets the later ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tracker-migrations-'));
  try {
    const path = join(dir, 'labels.db');
    const db = new Database(path);
    db.exec('CREATE TABLE label_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)');
    db.exec(await readFile(join(MIGRATIONS_DIR, '0001_init.sql'), 'utf8'));
    db.prepare('INSERT INTO label_migrations (name, applied_at) VALUES (?, ?)').run('0001_init.sql', 1);
    db.exec(`INSERT INTO label_projects (id, name, root, created_at) VALUES ('p', 'p', '', 0);
      INSERT INTO label_classes (project_id, name, position) VALUES ('p', 'cat', 0);
      INSERT INTO label_images (project_id, key, position) VALUES ('p', 'a.png', 0);
      INSERT INTO label_values (image_id, class_id, value) VALUES (1, 1, 1);`);
    db.close();

    const store = LabelStore.open(path);
    try {
      assert.deepEqual(store.counts('p')[0], { name: 'cat', retired: false, trainPos: 1, trainNeg: 0, valPos: 0, valNeg: 0 });
      assert.equal(store.sqlite.prepare('SELECT count(*) FROM __drizzle_migrations').pluck().get(), journal(MIGRATIONS_DIR).length);
      assert.equal(
        store.sqlite.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'label_predictions_class_h'").pluck().get(),
        0,
        '0003 ran after 0002',
      );
    } finally {
      store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a run registry made before the label store moved to drizzle opens with its runs, tags and model kept', () =>
  withCopy('tracker-before-refactor.db', (path) => {
    const before = rows(path);
    const db = openTrackerDb(path);
    try {
      assert.deepEqual(rows(path), before);
      const registry = new RunRegistry(db);
      const run = registry.get('pretrain-a');
      assert.equal(run?.status, 'completed');
      assert.deepEqual(run?.hparams, { lr: 0.01, method: 'iic' });
      assert.equal(run?.model?.sha256, 'ab'.repeat(32));
      assert.deepEqual(
        registry.tags('pretrain-a').map((t) => [t.tag, t.kind, t.lastStep]),
        [['loss', 'scalar', 7]],
      );
      assert.deepEqual(registry.list().map((r) => r.id).sort(), ['label-flowers', 'pretrain-a']);
    } finally {
      db.$client.close();
    }
  }));

test('a new label store gets every table from the migrations', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tracker-migrations-'));
  try {
    const path = join(dir, 'labels.db');
    LabelStore.open(path).close();
    const fresh = rows(path);
    await withCopy('labels-before-drizzle.db', (old) => {
      LabelStore.open(old).close();
      assert.deepEqual(Object.keys(fresh), Object.keys(rows(old)), 'the same tables as a migrated store');
    });
    const db = new Database(path);
    const schema = (d: Database.Database) =>
      d.prepare("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT IN ('__drizzle_migrations', 'label_migrations') ORDER BY name").all();
    const freshSchema = schema(db);
    db.close();
    await withCopy('labels-before-drizzle.db', (old) => {
      LabelStore.open(old).close();
      const o = new Database(old);
      assert.deepEqual(schema(o), freshSchema, 'the same tables and indexes');
      o.close();
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
