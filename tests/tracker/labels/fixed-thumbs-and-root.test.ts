// Thumbnails come in a few fixed sizes (each size of each image is a cached file), and no project may be rooted at
// the filesystem root, by name or through a symbolic link, even where any other folder is allowed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import sharp from 'sharp';
import { LocalStorage } from '../../../storage/index.ts';
import { imageRootsFromEnv } from '../../../tracker/labels/image-sources.ts';
import { answerError } from '../../../tracker/api/errors.ts';
import { labelsRouter, THUMB_SIZES } from '../../../tracker/labels/routes.tsx';
import { LabelStore } from '../../../tracker/labels/store.ts';
import { makeImage } from '../../helpers/images.ts';

const TOKEN = 'thumbs-token';
let dir: string;
let store: LabelStore;
let app: Hono;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labels-thumbs-'));
  await mkdir(join(dir, 'images'));
  await writeFile(join(dir, 'images', 'a.png'), await makeImage('png', 40, 20, 3, 1));
  await symlink('/', join(dir, 'everything'));
  store = LabelStore.open(join(dir, 'labels.db'));
  app = new Hono().onError(answerError).route(
    '/projects',
    labelsRouter({
      store,
      storage: new LocalStorage(join(dir, 'images')),
      token: TOKEN,
      cacheDir: join(dir, 'thumbs'),
    }),
  );
  store.createProject('p');
  store.addImages('p', [{ key: 'a.png' }]);
});
after(async () => {
  store?.close();
  await rm(dir, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${TOKEN}` };
const cached = async () =>
  (await readdir(join(dir, 'thumbs'), { recursive: true })).filter((f) => f.endsWith('.jpg'));

test('thumbnails are served in the fixed sizes only; other sizes are 400 and cache nothing', async () => {
  assert.deepEqual([...THUMB_SIZES], [32, 64, 128, 256, 512]);
  for (const size of THUMB_SIZES) {
    const r = await app.request(`/projects/p/images/a.png?size=${size}`, { headers: auth });
    assert.equal(r.status, 200, `size ${size}`);
    assert.equal((await sharp(Buffer.from(await r.arrayBuffer())).metadata()).width, size);
  }
  const before = await cached();
  assert.equal(before.length, THUMB_SIZES.length);
  for (const size of ['16', '100', '255', '1024', '-1', '1e3', 'abc']) {
    const r = await app.request(`/projects/p/images/a.png?size=${size}`, { headers: auth });
    assert.equal(r.status, 400, `size ${size}`);
    assert.match(((await r.json()) as { error: string }).error, /size: one of 32, 64, 128, 256, 512 pixels/);
  }
  assert.deepEqual(await cached(), before, 'no new cache file');
  assert.equal(
    (await app.request('/projects/p/images/a.png', { headers: auth })).status,
    200,
    'the default, 256',
  );
});

test('the filesystem root is refused as a project root, by name, through a link, and in PATCHWORK_IMAGE_ROOTS', async () => {
  const post = (root: string) =>
    app.request('/projects', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'everything', root }),
    });
  const direct = await post('/');
  assert.equal(direct.status, 400);
  assert.match(((await direct.json()) as { error: string }).error, /filesystem root cannot hold a project/);
  const linked = await post(join(dir, 'everything'));
  assert.equal(linked.status, 400);
  assert.match(((await linked.json()) as { error: string }).error, /link to the filesystem root/);
  assert.equal(store.getProject('everything'), undefined);
  assert.throws(() => imageRootsFromEnv('/'), /filesystem root/);
});

test('a labeler session may root a new project only under the image folder; a folder of its own needs the token', async () => {
  const login = await app.request(`/projects/p/label?token=${TOKEN}&labeler=alice`);
  const cookie = login.headers.getSetCookie().find((c) => c.startsWith('pw_session='))!.split(';')[0]!;
  const post = (id: string, root: string, headers: Record<string, string>) =>
    app.request('/projects', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ id, root }),
    });
  const session = { cookie, 'hx-request': 'true' };
  const outside = await post('own-folder', join(dir, 'images'), session);
  assert.equal(outside.status, 403);
  assert.match(await outside.text(), /registered by `patchwork label`.*PATCHWORK_IMAGES/);
  assert.equal(store.getProject('own-folder'), undefined);
  assert.equal((await post('under-images', 'sub', session)).status, 201, 'a prefix of the image folder');
  assert.equal((await post('by-cli', join(dir, 'images'), auth)).status, 201, 'the token registers a folder');
});
