// The Train page's server side without a loop to ask: histograms counted by hand, the stored losses of the label
// store's last round, parameter counts from the map's embeddings, and bad options refused with 4xx naming them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { LocalStorage } from '../../../storage/index.ts';
import { writePart } from '../../../storage/embeddings.ts';
import { saveRoundLosses } from '../../../storage/rounds.ts';
import { answerError } from '../../../tracker/api/errors.ts';
import { putMapSlice } from '../../../tracker/labels/map-store.ts';
import { probabilityHistograms } from '../../../tracker/labels/probability-histograms.ts';
import { setQueue } from '../../../tracker/labels/queue.ts';
import { labelsRouter } from '../../../tracker/labels/routes.tsx';
import { LabelStore } from '../../../tracker/labels/store.ts';

const TOKEN = 'train-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const keys = ['a.png', 'b.png', 'c.png', 'd.png', 'e.png'];
let dir: string;
let store: LabelStore;
let app: Hono;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labels-train-'));
  const runs = new LocalStorage(join(dir, 'runs'));
  store = LabelStore.open(join(dir, 'labels.db'));
  store.createProject('pets');
  store.addImages('pets', keys.map((key) => ({ key })));
  for (const name of ['cat', 'dog']) store.addClass('pets', name);
  store.setLabel('pets', 'a.png', 'cat', 1, 't'); // training
  store.setLabel('pets', 'b.png', 'cat', 0, 't'); // validation (below)
  store.setFlag('pets', 'b.png', 'validation', true, 't');
  store.setFlag('pets', 'e.png', 'exclude', true, 't'); // left out
  store.setPredictions('pets', keys, ['cat', 'dog'], [[0.95, 0.1], [0.15, 0.2], [0.5, 0.3], [1, 0.99], [0.5, 0.5]]);
  setQueue(store, 'pets', { round: 3, sort: 'random', keys: ['c.png'] });
  await saveRoundLosses(runs, 'label-pets', 3, [0.9, 0.7, 0.4, 0.3]);
  const dim = 6;
  await writePart(runs, 'mh', 0, new Float32Array(keys.length * dim), { version: 1, dim, keys, skipped: [], source: 't', runId: 'e' });
  putMapSlice(store, 'pets', { modelHash: 'mh', method: 'pca', keys, xy: keys.flatMap(() => [0, 0]) });
  // A project whose embeddings are feature maps [2, 2, 3].
  store.createProject('maps');
  store.addImages('maps', [{ key: 'a.png' }]);
  for (const name of ['cat', 'dog']) store.addClass('maps', name);
  await writePart(runs, 'mh-maps', 0, new Float32Array(12), { version: 1, dim: 12, mapShape: [2, 2, 3], keys: ['a.png'], skipped: [], source: 't', runId: 'e' });
  putMapSlice(store, 'maps', { modelHash: 'mh-maps', method: 'pca', keys: ['a.png'], xy: [0, 0] });
  app = new Hono().onError(answerError).route(
    '/projects',
    labelsRouter({ store, storage: new LocalStorage(dir), token: TOKEN, cacheDir: join(dir, 'thumbs'), runsStore: runs }),
  );
});
after(async () => {
  store?.close();
  await rm(dir, { recursive: true, force: true });
});

test('histograms split each class into labelled 1 and 0 on training and validation images, and unlabelled; excluded left out', () => {
  const [cat, dog] = probabilityHistograms(store, 'pets', 10);
  assert.equal(cat!.name, 'cat');
  const zeros = new Array(10).fill(0);
  assert.deepEqual(cat!.counts['training 1'], [0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 'a: 1 at 0.95');
  assert.deepEqual(cat!.counts['training 0'], zeros);
  assert.deepEqual(cat!.counts['validation 0'], [0, 1, 0, 0, 0, 0, 0, 0, 0, 0], 'b: 0 at 0.15');
  assert.deepEqual(cat!.counts['validation 1'], zeros);
  assert.deepEqual(cat!.counts.unlabelled, [0, 0, 0, 0, 0, 1, 0, 0, 0, 1], 'c: 0.5, d: 1 in the last bin');
  assert.deepEqual(dog!.counts['training 1'], zeros);
  assert.deepEqual(dog!.counts.unlabelled, [0, 1, 1, 1, 0, 0, 0, 0, 0, 1], 'every image not excluded: no dog labels');
  assert.equal(probabilityHistograms(store, 'pets')[0]!.counts.unlabelled.length, 14, "the original's 14 bins by default");
});

test('the page shows the last round’s losses, the histograms, and why it cannot train', async () => {
  const r = await app.request('/projects/pets/train', { headers: auth });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const html = await r.text();
  assert.match(html, /set TEMPORAL_ADDRESS where it runs/);
  assert.match(html, /<section id="results" data-round="3"/);
  assert.match(html, /data-tag="round 3: training loss per step" data-points="4" data-last-step="4"/);
  assert.match(html, /<polyline points="[^"]+"/);
  assert.match(html, /<figure class="histogram" data-class="cat" data-training="1" data-validation="1" data-unlabelled="2" data-positives="1"/);
  assert.match(html, /Predictions published by round 3/);
  assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]/, 'no inline script');
});

test('the parameter count follows the form; heads without a count show why', async () => {
  const count = async (query: string) => {
    const r = await app.request(`/projects/pets/train/parameters?${query}`, { headers: auth });
    assert.equal(r.status, 200, await r.clone().text());
    return r.text();
  };
  assert.match(await count('kind=logistic'), /data-count="14"[^>]*>14 trainable parameters \(6 features, 2 classes\)/);
  assert.match(await count('kind=mlp&hidden=4&epochs=&updatePredictions=0'), /data-count="38"[^>]*>/, '6*4+4 + 4*2+2');
  assert.match(await count('kind=linear&output=cosine'), /data-count="28"[^>]*>/, '6*2*2 + 2*2');
  assert.match(await count('kind=convnet'), /data-count=""[^>]*>a convnet head needs feature maps/);
  const maps = async (query: string) => (await app.request(`/projects/maps/train/parameters?${query}`, { headers: auth })).text();
  assert.match(await maps('kind=pool'), /data-count="8"[^>]*>/, '3 channels pooled, 3*2+2');
  assert.match(await maps('kind=convnet&layers=1&filters=4&kernel=3'), /data-count="122"[^>]*>/, '3*3*3*4+4 + 4*2+2');
});

test('bad options are 400s naming the option; training without a loop is a 409 naming the fix', async () => {
  const bad = async (path: string, init: RequestInit, pattern: RegExp, status = 400) => {
    const r = await app.request(path, init);
    const text = await r.text();
    assert.equal(r.status, status, `${path}: ${text}`);
    assert.match((JSON.parse(text) as { error: string }).error, pattern);
  };
  const form = (body: Record<string, string>) => ({
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  });
  await bad('/projects/pets/train/parameters?kind=forest', { headers: auth }, /head kind "forest" is unknown; use one of logistic/);
  await bad('/projects/pets/train/parameters?hidden=1.5&kind=mlp', { headers: auth }, /head hidden must be a whole number >= 1/);
  await bad('/projects/pets/train/parameters?epochs=many', { headers: auth }, /epochs: a whole number of epochs/);
  await bad('/projects/pets/train/parameters?colour=red', { headers: auth }, /Unrecognized key/);
  await bad('/projects/pets/train', form({ kind: 'mlp', labelSmoothing: '1' }), /head labelSmoothing must be below 1/);
  await bad('/projects/pets/train', form({ updatePredictions: 'maybe' }), /updatePredictions: use 1 \(yes\) or 0 \(no\)/);
  await bad('/projects/pets/train', form({ kind: 'linear' }), /set TEMPORAL_ADDRESS where it runs/, 409);
  await bad('/projects/pets/train', { method: 'POST', body: 'kind=linear' }, /writes need the bearer token/, 401);
  await bad('/projects/pets/train/watch?rounds=x', { headers: auth }, /rounds: a round count/);
});
