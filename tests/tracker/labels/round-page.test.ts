// The round page: what changed between two stored rounds, read from the runs store, as counted by hand.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { LocalStorage } from '../../../storage/index.ts';
import { savePredictions, saveQueue, saveRoundLabels } from '../../../storage/rounds.ts';
import { answerError } from '../../../tracker/api/errors.ts';
import { labelsRouter } from '../../../tracker/labels/routes.tsx';
import { LabelStore } from '../../../tracker/labels/store.ts';

const TOKEN = 'round-token';
const auth = { authorization: `Bearer ${TOKEN}` };
let dir: string;
let store: LabelStore;
let app: Hono;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labels-round-'));
  const runs = new LocalStorage(join(dir, 'runs'));
  const keys = ['a.png', 'b.png', 'c.png'];
  const header = 'filepath,exclude,validation,cat,dog';
  await saveRoundLabels(runs, 'label-pets', 1, `${header}\na.png,0,0,1,\nb.png,0,0,,\nc.png,0,0,,\n`, ['cat', 'dog']);
  await savePredictions(runs, 'label-pets', 1, { keys, classes: ['cat', 'dog'], probs: Float32Array.from([0.9, 0.5, 0.5, 0.5, 0.2, 0.5]) });
  await saveQueue(runs, 'label-pets', { round: 1, sort: 'random', keys: ['b.png', 'c.png'] });
  await saveRoundLabels(runs, 'label-pets', 2, `${header}\na.png,0,0,1,0\nb.png,0,0,0,1\nc.png,0,0,,\n`, ['cat', 'dog']);
  await savePredictions(runs, 'label-pets', 2, { keys, classes: ['cat', 'dog'], probs: Float32Array.from([0.95, 0.1, 0.1, 0.9, 0.3, 0.5]) });
  await saveQueue(runs, 'label-pets', { round: 2, sort: 'random', keys: ['c.png'] });
  store = LabelStore.open(join(dir, 'labels.db'));
  store.createProject('pets');
  app = new Hono().onError(answerError).route(
    '/projects',
    labelsRouter({ store, storage: new LocalStorage(dir), token: TOKEN, cacheDir: join(dir, 'thumbs'), runsStore: runs }),
  );
});
after(async () => {
  store?.close();
  await rm(dir, { recursive: true, force: true });
});

test('round 2 against round 1: labels added, both AUCs per class, queue turnover, the biggest moves', async () => {
  const r = await app.request('/projects/pets/rounds/2', { headers: auth });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const html = await r.text();
  assert.match(html, /labels added: 3 \(0 changed or cleared\)/);
  assert.match(html, /<td>cat<\/td><td>1<\/td><td>100\.0 %<\/td><td>100\.0 %<\/td>/);
  assert.match(html, /queue: 1 images, 0 new, 1 also in round 1&#39;s queue|queue: 1 images, 0 new, 1 also in round 1's queue/);
  assert.match(html, /<td>b\.png<\/td><td>(cat|dog)<\/td>/);
});

test('bad or missing rounds are 4xx naming the round', async () => {
  const later = await app.request('/projects/pets/rounds/2?vs=2', { headers: auth });
  assert.equal(later.status, 400);
  assert.match(await later.text(), /vs: compare round 2 with an earlier round \(1 to 1\)/);
  const missing = await app.request('/projects/pets/rounds/5', { headers: auth });
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /no complete round 4 in the runs store/);
  const bad = await app.request('/projects/pets/rounds/x', { headers: auth });
  assert.equal(bad.status, 400);
  assert.equal((await app.request('/projects/pets/rounds/1', { headers: auth })).status, 400, 'round 1 has nothing before it');
});
