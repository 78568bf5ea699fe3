// The map routes: credentials on reads and writes, refusals naming the field, 404 before a round published a map,
// slices of a map, the saved selection as the grid's 'map selection' subset, and labelling a selection at once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: the page's plain ES module has no types
import { decodeColumns } from '../../../ui/map-data.js';
import { startTestTracker, type TestTracker } from '../helpers.ts';

const TOKEN = 'map-test-token';
let dir: string;
let tracker: TestTracker;
const keys = ['a.png', 'b.png', 'c.png', 'd.png'];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labels-map-'));
  tracker = startTestTracker(dir, { token: TOKEN });
  assert.equal((await tracker.call('POST', '/projects', { id: 'p' })).status, 201);
  assert.equal((await tracker.call('POST', '/projects/p/images', { images: keys.map((key) => ({ key })) })).status, 200);
  assert.ok((await tracker.call('POST', '/projects/p/classes', { name: 'cat' })).status < 300);
});
after(async () => {
  await tracker?.close();
  await rm(dir, { recursive: true, force: true });
});

const anon = { authorization: '' };

test('reads and writes need the credential', async () => {
  for (const path of ['/projects/p/map', '/projects/p/map/points', '/projects/p/map/info', '/projects/p/map/selection'])
    assert.equal((await tracker.call('GET', path, undefined, anon)).status, 401, path);
  const body = { modelHash: 'm1', method: 'pca', keys: ['a.png'], xy: [0, 0] };
  assert.equal((await tracker.call('PUT', '/projects/p/map', body, anon)).status, 401);
  assert.equal((await tracker.call('POST', '/projects/p/map/selection', { keys: [] }, anon)).status, 401);
  assert.equal((await tracker.call('POST', '/projects/p/map/labels', { keys, class: 'cat', value: '1' }, anon)).status, 401);
});

test('404 naming the fix before a map exists', async () => {
  for (const path of ['/projects/p/map', '/projects/p/map/points', '/projects/p/map/info']) {
    const r = await tracker.call('GET', path);
    assert.equal(r.status, 404, path);
    assert.match(r.text, /no map yet; run a round with `patchwork retrain p`/);
  }
});

test('bad bodies are refused naming the field', async () => {
  const put = (body: unknown) => tracker.call('PUT', '/projects/p/map', body);
  let r = await put({ modelHash: 'm1', method: 'tsne', keys: ['a.png'], xy: [0, 0] });
  assert.equal(r.status, 400);
  assert.match(r.text, /method/);
  r = await put({ modelHash: 'm1', method: 'pca', keys: ['a.png'], xy: [0] });
  assert.equal(r.status, 400);
  assert.match(r.text, /xy: 1 numbers for 1 keys/);
  r = await put({ modelHash: 'm 1', method: 'pca', keys: ['a.png'], xy: [0, 0] });
  assert.match(r.text, /modelHash/);
  r = await put({ modelHash: 'm1', method: 'pca', keys: ['../x.png'], xy: [0, 0] });
  assert.equal(r.status, 400);
  assert.match(r.text, /keys/);
  r = await tracker.call('POST', '/projects/p/map/labels', { keys: ['a.png'], class: 'cat', value: 'yes' });
  assert.equal(r.status, 400);
  assert.match(r.text, /value/);
  r = await tracker.call('POST', '/projects/p/map/labels', { keys: [], class: 'cat', value: '1' });
  assert.equal(r.status, 400);
  assert.match(r.text, /keys: select at least one image/);
  r = await tracker.call('POST', '/projects/p/map/selection', { keys: 'a.png' });
  assert.equal(r.status, 400);
  assert.match(r.text, /keys/);
  r = await tracker.call('GET', '/projects/p/map/selection?labeler=no%20spaces');
  assert.equal(r.status, 400);
  assert.match(r.text, /labeler: 1-40/);
  assert.equal((await tracker.call('GET', '/projects/p/map/info')).status, 404, 'refused writes stored nothing');
});

test('slices build a map; a new model hash replaces it; points carry labels and predictions', async () => {
  const r1 = await tracker.call('PUT', '/projects/p/map', { modelHash: 'm1', method: 'umap', keys: keys.slice(0, 2), xy: [0, 0, 1, 1] });
  assert.equal(r1.status, 200, r1.text);
  assert.equal(r1.body.count, 2);
  const r2 = await tracker.call('PUT', '/projects/p/map', { modelHash: 'm1', method: 'umap', keys: keys.slice(2), xy: [2, 2, 3, 3] });
  assert.equal(r2.body.count, 4);
  const r3 = await tracker.call('PUT', '/projects/p/map', { modelHash: 'm2', method: 'pca', keys: ['a.png'], xy: [-1, -1] });
  assert.deepEqual([r3.body.modelHash, r3.body.method, r3.body.count], ['m2', 'pca', 1]);
  await tracker.call('PUT', '/projects/p/map', { modelHash: 'm2', method: 'pca', keys, xy: [-1, -1, -0.9, -0.9, 0.9, 0.9, 1, 1] });
  tracker.store.setPredictions('p', ['a.png'], ['cat'], [[0.8]]);
  await tracker.call('POST', '/projects/p/labels', { key: 'b.png', class: 'cat', value: '0' });
  const pts = await tracker.call('GET', '/projects/p/map/points?class=cat');
  assert.equal(pts.status, 200, pts.text);
  assert.deepEqual(pts.body.keys, keys);
  assert.deepEqual(pts.body.label, [-1, 0, -1, -1]);
  assert.ok(Math.abs(pts.body.p[0] - 0.8) < 1e-6 && pts.body.p[1] === -1);
  assert.ok(Math.abs(pts.body.uncertainty[0] - 0.4) < 1e-6 && pts.body.uncertainty[1] === -1);
  // The binary body the page reads holds the same columns.
  const bin = await tracker.app.request('/projects/p/map/points?class=cat&format=bin', {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  const decoded = decodeColumns(await bin.arrayBuffer());
  assert.deepEqual([decoded.keys, [...decoded.label], decoded.className], [keys, pts.body.label, 'cat']);
  assert.deepEqual([...decoded.x], pts.body.x.map(Math.fround));
  assert.deepEqual([...decoded.p], pts.body.p.map(Math.fround));
  const bad = await tracker.call('GET', '/projects/p/map/points?class=dog');
  assert.equal(bad.status, 400);
  assert.match(bad.body.error, /class: no active class "dog"/);
  const page = await tracker.call('GET', '/projects/p/map');
  assert.equal(page.status, 200);
  assert.match(page.text, /<script type="module" src="\/projects\/_static\/map.js">/);
  for (const file of ['map.js', 'map-data.js', 'pub-sub-es.js', 'regl.min.js', 'regl-scatterplot.min.js'])
    assert.equal((await tracker.call('GET', `/projects/_static/${file}`)).status, 200, file);
});

test('the selection is saved per labeler and is the grid subset; labelling it writes one history row per image', async () => {
  const who = { 'x-patchwork-labeler': 'alice' };
  const sel = await tracker.call('POST', '/projects/p/map/selection', { keys: ['c.png', 'd.png'] }, who);
  assert.deepEqual(sel.body, { count: 2 });
  assert.deepEqual((await tracker.call('GET', '/projects/p/map/selection?labeler=alice')).body.keys, ['c.png', 'd.png']);
  const login = await tracker.app.request(`/projects/p/label?token=${TOKEN}&labeler=alice`);
  const cookie = login.headers.getSetCookie().find((c) => c.startsWith('pw_session='))!.split(';')[0]!;
  const grid = await tracker.app.request('/projects/p/label?subset=map+selection&sort=random&dim=3', { headers: { cookie } });
  const html = await grid.text();
  const shown = [...html.matchAll(/class="card[^"]*"[^>]*data-key="([^"]+)"/g)].map((m) => m[1]).sort();
  assert.deepEqual(shown, ['c.png', 'd.png'], html.slice(0, 300));

  const before = tracker.store.historyEntries('p', { limit: 1000 }).length;
  const w = await tracker.call('POST', '/projects/p/map/labels', { keys: ['c.png', 'd.png'], class: 'cat', value: '1' }, who);
  assert.equal(w.status, 200, w.text);
  assert.equal(w.body.written, 2);
  const h = (await tracker.call('GET', '/projects/p/history?limit=2')).body.history;
  assert.equal(tracker.store.historyEntries('p', { limit: 1000 }).length - before, 2);
  assert.deepEqual(h.map((e: { imageKey: string }) => e.imageKey).sort(), ['c.png', 'd.png']);
  assert.ok(h.every((e: { actor: string; newValue: number }) => e.actor === 'alice' && e.newValue === 1));
});

test('undoing a map labelling reverts the whole batch, only while it is the labeler\'s latest change', async () => {
  const who = { 'x-patchwork-labeler': 'bob' };
  const value = (key: string) => tracker.store.table('p').find((r) => r.key === key)!.labels.get(tracker.store.classes('p')[0]!.id) ?? null;
  const w = await tracker.call('POST', '/projects/p/map/labels', { keys: ['a.png', 'b.png'], class: 'cat', value: '1' }, who);
  assert.deepEqual([value('a.png'), value('b.png')], [1, 1]);
  // A later change by bob: the batch is no longer his latest, so nothing is undone.
  await tracker.call('POST', '/projects/p/labels', { key: 'c.png', class: 'cat', value: '0' }, who);
  let u = await tracker.call('POST', '/projects/p/map/labels/undo', { historyIds: w.body.historyIds }, who);
  assert.equal(u.status, 409, u.text);
  assert.match(u.text, /historyIds: these are no longer your latest changes/);
  assert.deepEqual([value('a.png'), value('b.png'), value('c.png')], [1, 1, 0]);
  await tracker.call('POST', '/projects/p/undo', undefined, who);
  // Someone else's later write does not stand in the way of bob's undo.
  await tracker.call('POST', '/projects/p/labels', { key: 'd.png', class: 'cat', value: '0' }, { 'x-patchwork-labeler': 'carol' });
  u = await tracker.call('POST', '/projects/p/map/labels/undo', { historyIds: w.body.historyIds }, who);
  assert.equal(u.status, 200, u.text);
  assert.deepEqual(u.body, { undone: 2 });
  assert.deepEqual([value('a.png'), value('b.png')], [null, 0]);
  const h = (await tracker.call('GET', '/projects/p/history?limit=2')).body.history;
  assert.ok(h.every((e: { actor: string; undoes: number }) => e.actor === 'bob' && w.body.historyIds.includes(e.undoes)));
  u = await tracker.call('POST', '/projects/p/map/labels/undo', { historyIds: [] }, who);
  assert.equal(u.status, 400);
  assert.match(u.text, /historyIds/);
});
