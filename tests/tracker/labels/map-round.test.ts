// A round publishes the map of its embeddings to the label store once per model hash: predictAll projects the aligned
// embeddings, heartbeating, and PUTs them; a retry (or a later round) on the same embeddings finds the map and skips it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { asyncLocalStorage, Context } from '@temporalio/activity';
import { createActiveLearningActivities } from '../../../activities/active-learning.ts';
import { LocalStorage } from '../../../storage/index.ts';
import { writePart } from '../../../storage/embeddings.ts';
import { mapColumns, mapInfo } from '../../../tracker/labels/map-store.ts';
import { freePort } from '../../helpers/net.ts';
import { startTestTracker, type TestTracker } from '../helpers.ts';

const TOKEN = 'map-round-token';
const N = 60;
const DIM = 4;
let dir: string;
let tracker: TestTracker;
let server: ServerType;
let url: string;
const keys = Array.from({ length: N }, (_, i) => `img/${i}.png`);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'map-round-'));
  tracker = startTestTracker(dir, { token: TOKEN });
  const port = await freePort();
  server = serve({ fetch: tracker.app.fetch, port, hostname: '127.0.0.1' });
  url = `http://127.0.0.1:${port}`;
  const store = tracker.store;
  store.createProject('maps');
  store.addImages('maps', keys.map((key) => ({ key })));
  store.addClass('maps', 'cat');
  for (let i = 0; i < 6; i++) store.setLabel('maps', keys[i]!, 'cat', i < 3 ? 1 : 0, 'test');
  // Two clusters: the first half near +1, the second near -1 in every dimension.
  const vectors = new Float32Array(N * DIM);
  for (let i = 0; i < N; i++)
    for (let d = 0; d < DIM; d++) vectors[i * DIM + d] = (i < N / 2 ? 1 : -1) + 0.01 * Math.sin(i * 7 + d);
  const storage = new LocalStorage(join(dir, 'store'));
  await writePart(storage, 'mh1', 0, vectors, { version: 1, dim: DIM, keys, skipped: [], source: 'test', runId: 'embed' });
});
after(async () => {
  server?.close();
  await tracker?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs fn as an activity would run, collecting its heartbeats. */
async function asActivity<T>(beats: unknown[], fn: () => Promise<T>): Promise<T> {
  const log = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, log() {} };
  const ctx = new Context(
    { activityType: 'test', heartbeatDetails: undefined } as never,
    new Promise<never>(() => {}),
    new AbortController().signal,
    (details?: unknown) => beats.push(details),
    undefined,
    log as never,
    undefined as never,
    undefined as never,
  );
  return asyncLocalStorage.run(ctx, fn);
}

test('predictAll publishes the map once per model hash, heartbeating while it projects', async () => {
  const activities = createActiveLearningActivities({
    store: new LocalStorage(join(dir, 'store')),
    tracker: { url, token: TOKEN },
    spoolDir: join(dir, 'spool'),
  });
  const common = { runId: 'label-maps', round: 1, modelHash: 'mh1' };
  const beats: unknown[] = [];
  await asActivity(beats, () =>
    activities.fineTune({ ...common, project: 'maps', head: { kind: 'logistic' }, seed: 3 }),
  );
  await asActivity(beats, () => activities.predictAll(common));
  const info = mapInfo(tracker.store, 'maps')!;
  assert.deepEqual([info.modelHash, info.method, info.count], ['mh1', 'umap', N]);
  assert.ok(beats.some((b) => (b as { phase?: string })?.phase === 'map'), 'heartbeats during the projection');
  const cols = mapColumns(tracker.store, 'maps', 'cat')!;
  assert.ok(cols.x.every((x) => x >= -1 && x <= 1) && cols.y.every((y) => y >= -1 && y <= 1));
  // The clusters stay apart: every point is nearer its own cluster's centre than the other's.
  const centre = (from: number, to: number) => [0, 1].map((k) => {
    const v = k === 0 ? cols.x : cols.y;
    return v.slice(from, to).reduce((a, b) => a + b, 0) / (to - from);
  });
  const [a, b] = [centre(0, N / 2), centre(N / 2, N)];
  const d = (i: number, c: number[]) => Math.hypot(cols.x[i]! - c[0]!, cols.y[i]! - c[1]!);
  for (let i = 0; i < N; i++) assert.ok(i < N / 2 ? d(i, a) < d(i, b) : d(i, b) < d(i, a), `point ${i}`);

  const again: unknown[] = [];
  await asActivity(again, () => activities.predictAll(common));
  assert.ok(!again.some((b) => (b as { phase?: string })?.phase === 'map'), 'a stored map is not recomputed');
  assert.equal(mapInfo(tracker.store, 'maps')!.updatedAt, info.updatedAt);
});
