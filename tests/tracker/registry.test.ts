// Run registry on a real SQLite file: migrations on an empty database, and a run's lifecycle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTrackerDb } from '../../tracker/db/index.ts';
import { RunRegistry } from '../../tracker/db/registry.ts';

test('migrations apply on an empty database, in WAL mode, and re-opening applies nothing twice', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'registry-'));
  try {
    const path = join(dir, 'nested', 'tracker.db');
    const db = openTrackerDb(path);
    const tables = db.$client
      .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name")
      .pluck()
      .all();
    assert.deepEqual(tables, ['__drizzle_migrations', 'batches', 'run_tags', 'runs']);
    assert.equal(db.$client.pragma('journal_mode', { simple: true }), 'wal');
    new RunRegistry(db).startSession({ id: 'a', startStep: 0 });
    db.$client.close();
    const again = openTrackerDb(path);
    assert.equal(again.$client.prepare('select count(*) from __drizzle_migrations').pluck().get(), 2, 'two migrations, each applied once');
    assert.equal(new RunRegistry(again).get('a')?.status, 'running');
    again.$client.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('run lifecycle: create, log, finish, resume at a checkpoint step, batch ids', () => {
  const registry = new RunRegistry(openTrackerDb(':memory:'));
  const t0 = new Date('2026-01-01T00:00:00Z');
  const created = registry.startSession({ id: 'run-1', workflowId: 'wf-1', hparams: { lr: 0.1, opt: 'sgd' }, startStep: 0, now: t0 });
  assert.deepEqual(
    [created.status, created.workflowId, created.hparams, created.sessions, created.lastStep, created.startedAt.getTime()],
    ['running', 'wf-1', { lr: 0.1, opt: 'sgd' }, 1, null, t0.getTime()],
  );
  registry.recordBatch({
    runId: 'run-1',
    batchId: 'b1',
    items: 3,
    written: 3,
    tags: new Map([
      ['loss', { kind: 'scalar', lastStep: 99 }],
      ['grid', { kind: 'image', lastStep: 90 }],
    ]),
  });
  assert.equal(registry.hasBatch('run-1', 'b1'), true);
  assert.equal(registry.hasBatch('run-1', 'b2'), false);
  assert.equal(registry.get('run-1')?.lastStep, 99);

  const failed = registry.finish('run-1', 'failed')!;
  assert.equal(failed.status, 'failed');
  assert.ok(failed.endedAt);

  // Resume from a step-49 checkpoint: tags go back to step 49, the run is running again in its second session.
  const resumed = registry.startSession({ id: 'run-1', startStep: 50 });
  assert.deepEqual(
    [resumed.status, resumed.endedAt, resumed.sessions, resumed.sessionStartStep, resumed.lastStep, resumed.workflowId],
    ['running', null, 2, 50, 49, 'wf-1'],
  );
  assert.deepEqual(
    registry.tags('run-1').map((t) => [t.tag, t.kind, t.lastStep]),
    [
      ['grid', 'image', 49],
      ['loss', 'scalar', 49],
    ],
  );
  registry.finish('run-1', 'completed');
  assert.deepEqual(registry.list().map((r) => [r.id, r.status]), [['run-1', 'completed']]);
});

test('old batch ids are pruned; a batch re-sent after that is still not written twice', async () => {
  const { createTracker } = await import('../../tracker/app.ts');
  const dir = await mkdtemp(join(tmpdir(), 'registry-prune-'));
  const tracker = createTracker({ logDir: join(dir, 'logs'), token: 't' });
  const registry = new RunRegistry(tracker.db);
  try {
    const call = async (path: string, body: unknown) => {
      const r = await tracker.app.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
        body: JSON.stringify(body),
      });
      assert.equal(r.status, 200, await r.clone().text());
      return (await r.json()) as { duplicate?: boolean; written?: number; skipped?: number };
    };
    await call('/api/runs', { run: 'p' });
    const batch = { batchId: 'b1', items: [{ kind: 'scalar', tag: 'loss', step: 0, value: 1 }] };
    assert.equal((await call('/api/runs/p/batches', batch)).written, 1);
    registry.recordBatch({ runId: 'p', batchId: 'old', items: 0, written: 0, tags: new Map(), now: new Date(0) });

    assert.equal(registry.pruneBatches(new Date(1000)), 1, 'only the batch received before the cutoff');
    assert.ok(registry.hasBatch('p', 'b1') && !registry.hasBatch('p', 'old'));
    assert.equal(registry.pruneBatches(new Date(Date.now() + 1000)), 1);
    assert.ok(!registry.hasBatch('p', 'b1'));

    const resent = await call('/api/runs/p/batches', batch);
    assert.deepEqual([resent.duplicate, resent.written, resent.skipped], [false, 0, 1], 'skipped by its (tag, step)');
  } finally {
    await tracker.close();
    await rm(dir, { recursive: true, force: true });
  }
});
