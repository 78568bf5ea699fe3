// PUT/GET /projects/:project/queue through the labels router (in-process Hono requests, a real SQLite label store).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { LocalStorage } from '../../../storage/index.ts';
import { answerError } from '../../../tracker/api/errors.ts';
import { labelsRouter } from '../../../tracker/labels/routes.tsx';
import { LabelStore } from '../../../tracker/labels/store.ts';

const TOKEN = 'queue-token';
let dir: string;
let store: LabelStore;
let app: Hono;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labels-queue-'));
  store = LabelStore.open(join(dir, 'labels.db'));
  store.createProject('p');
  store.addImages(
    'p',
    ['a.png', 'b.png', 'c.png', 'd.png'].map((key) => ({ key })),
  );
  store.addClass('p', 'cat');
  app = new Hono().onError(answerError).route(
    '/projects',
    labelsRouter({ store, storage: new LocalStorage(dir), token: TOKEN, cacheDir: join(dir, 'thumbs') }),
  );
});
after(async () => {
  store?.close();
  await rm(dir, { recursive: true, force: true });
});

const put = (body: unknown, project = 'p', token: string | null = TOKEN) =>
  app.request(`/projects/${project}/queue`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/json',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const error = async (r: Response) => ((await r.json()) as { error: string }).error;

test('a stored queue comes back in the published order and replaces the previous one', async () => {
  assert.equal((await app.request('/projects/p/queue')).status, 404, 'no queue yet');
  const r = await put({ round: 1, sort: 'diverse (badge)', keys: ['c.png', 'a.png', 'd.png'] });
  assert.equal(r.status, 200, await r.clone().text());
  assert.deepEqual(
    { ...((await r.json()) as object), updatedAt: 0 },
    { round: 1, sort: 'diverse (badge)', size: 3, updatedAt: 0 },
  );
  const got = (await (await app.request('/projects/p/queue')).json()) as Record<string, unknown>;
  assert.deepEqual([got.round, got.sort, got.keys], [1, 'diverse (badge)', ['c.png', 'a.png', 'd.png']]);

  assert.equal((await put({ round: 2, sort: 'max entropy', keys: ['b.png', 'c.png'] })).status, 200);
  const next = (await (await app.request('/projects/p/queue')).json()) as Record<string, unknown>;
  assert.deepEqual([next.round, next.sort, next.keys], [2, 'max entropy', ['b.png', 'c.png']]);
});

test('the queue route needs the token, names bad fields and unknown keys, and 404s an unknown project', async () => {
  const good = { round: 3, sort: 'random', keys: ['a.png'] };
  assert.equal((await put(good, 'p', null)).status, 401);
  assert.equal((await put(good, 'p', 'wrong')).status, 401);
  // Without the htmx header the labeler's cookie is not enough (cross-site forms).
  const cookieOnly = await app.request('/projects/p/queue', {
    method: 'PUT',
    headers: { 'content-type': 'application/json', cookie: `pw_labels_token=${TOKEN}` },
    body: JSON.stringify(good),
  });
  assert.equal(cookieOnly.status, 401);

  const bad = async (body: unknown, pattern: RegExp) => {
    const r = await put(body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(await error(r), pattern);
  };
  await bad({ ...good, round: -1 }, /^round: /);
  await bad({ ...good, round: 1.5 }, /^round: /);
  await bad({ sort: 'random', keys: [] }, /^round: /);
  await bad({ ...good, sort: '' }, /^sort: /);
  await bad({ ...good, keys: 'a.png' }, /^keys: /);
  await bad({ ...good, keys: ['a.png', 7] }, /^keys\.1: /);
  await bad('{"round": 1,', /not valid JSON/);
  await bad(
    { ...good, keys: ['a.png', 'nope.png', '../etc/passwd'] },
    /keys: not images of project p: "nope.png", "\.\.\/etc\/passwd"$/,
  );
  await bad(
    { ...good, keys: ['a.png', 'b.png', 'a.png'] },
    /keys: each image may appear once; repeated: "a.png"$/,
  );

  const missing = await put(good, 'nope');
  assert.equal(missing.status, 404);
  assert.match(await error(missing), /no project "nope"/);
  assert.equal((await app.request('/projects/nope/queue')).status, 404);

  // None of the refused requests changed the stored queue.
  const got = (await (await app.request('/projects/p/queue')).json()) as Record<string, unknown>;
  assert.deepEqual([got.round, got.keys], [2, ['b.png', 'c.png']]);
});
