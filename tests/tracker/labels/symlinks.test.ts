// Symbolic links cannot take the labeler outside a project's folder: a linked file or folder that points elsewhere is
// refused, and a project root that is a link is allowed or refused by where it points.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { LocalStorage } from '../../../storage/index.ts';
import { answerError } from '../../../tracker/api/errors.ts';
import { labelsRouter } from '../../../tracker/labels/routes.tsx';
import { LabelStore } from '../../../tracker/labels/store.ts';
import { makeImage } from '../../helpers/images.ts';

const TOKEN = 'links-token';
let dir: string;
let store: LabelStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labels-links-'));
  for (const folder of ['allowed/tiles', 'allowed/tiles/sub', 'base/p', 'elsewhere/inner']) {
    await mkdir(join(dir, folder), { recursive: true });
  }
  const png = await makeImage('png', 16, 16, 3, 1);
  await writeFile(join(dir, 'elsewhere', 'x.png'), png);
  await writeFile(join(dir, 'elsewhere', 'inner', 'y.png'), png);
  await writeFile(join(dir, 'allowed', 'tiles', 'own.png'), png);
  await writeFile(join(dir, 'allowed', 'tiles', 'sub', 'deep.png'), png);
  await writeFile(join(dir, 'base', 'p', 'own.png'), png);
  for (const folder of ['allowed/tiles', 'base/p']) {
    await symlink(join(dir, 'elsewhere', 'x.png'), join(dir, folder, 'link.png'));
    await symlink(join(dir, 'elsewhere', 'inner'), join(dir, folder, 'dir'));
  }
  // A link inside the folder to a file inside the folder stays readable.
  await symlink(join(dir, 'allowed', 'tiles', 'sub', 'deep.png'), join(dir, 'allowed', 'tiles', 'alias.png'));
  await symlink(join(dir, 'elsewhere'), join(dir, 'allowed', 'escape'));
  await symlink(join(dir, 'elsewhere'), join(dir, 'base', 'linked'));
  store = LabelStore.open(join(dir, 'labels.db'));
});
after(async () => {
  store?.close();
  await rm(dir, { recursive: true, force: true });
});

function appWith(allowedRoots?: string[]) {
  return new Hono().onError(answerError).route(
    '/projects',
    labelsRouter({
      store,
      storage: new LocalStorage(join(dir, 'base')),
      token: TOKEN,
      cacheDir: join(dir, 'thumbs'),
      imageRoots: { allowedRoots },
    }),
  );
}
const post = (app: Hono, path: string, body: unknown) =>
  app.request(`/projects${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
  });
const thumb = (app: Hono, project: string, key: string) =>
  app.request(`/projects/${project}/images/${key}?size=32`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });

const keys = ['own.png', 'link.png', 'dir/y.png', 'alias.png'];

test('links to files or folders outside an absolute project root are refused; links inside it are served', async () => {
  const app = appWith();
  assert.equal((await post(app, '', { id: 'abs', root: join(dir, 'allowed', 'tiles') })).status, 201);
  assert.equal((await post(app, '/abs/images', { images: keys.map((key) => ({ key })) })).status, 200);
  assert.equal((await thumb(app, 'abs', 'own.png')).status, 200);
  assert.equal((await thumb(app, 'abs', 'alias.png')).status, 200, 'a link that stays inside the folder');
  for (const key of ['link.png', 'dir/y.png']) {
    const r = await thumb(app, 'abs', key);
    assert.equal(r.status, 403, `${key} → ${r.status}`);
    assert.match(
      ((await r.json()) as { error: string }).error,
      /symbolic link to a file outside the project's folder/,
    );
  }
});

test('links outside a project rooted inside the default image folder are refused', async () => {
  const app = appWith();
  assert.equal((await post(app, '', { id: 'rel', root: 'p' })).status, 201);
  assert.equal((await post(app, '/rel/images', { images: keys.map((key) => ({ key })) })).status, 200);
  assert.equal((await thumb(app, 'rel', 'own.png')).status, 200);
  assert.equal((await thumb(app, 'rel', 'link.png')).status, 403);
  assert.equal((await thumb(app, 'rel', 'dir/y.png')).status, 403);
  const missing = await post(app, '/rel/images', { images: [{ key: 'gone.png' }] });
  assert.equal(missing.status, 200);
  assert.equal((await thumb(app, 'rel', 'gone.png')).status, 404, 'a missing file is a 404, not a 500');

  // A project prefix that is itself a link out of the default image folder.
  assert.equal((await post(app, '', { id: 'linked-prefix', root: 'linked' })).status, 201);
  assert.equal((await post(app, '/linked-prefix/images', { images: [{ key: 'x.png' }] })).status, 200);
  assert.equal((await thumb(app, 'linked-prefix', 'x.png')).status, 403);
});

test('a project root that is a link out of PATCHWORK_IMAGE_ROOTS is refused, before and after creation', async () => {
  const allowed = [join(dir, 'allowed')];
  const app = appWith(allowed);
  const refused = await post(app, '', { id: 'linked', root: join(dir, 'allowed', 'escape') });
  assert.equal(refused.status, 403);
  assert.match(((await refused.json()) as { error: string }).error, /PATCHWORK_IMAGE_ROOTS/);
  const below = await post(app, '', { id: 'linked', root: join(dir, 'allowed', 'escape', 'inner') });
  assert.equal(below.status, 403, 'a folder below a link that leaves the allowed root');
  assert.equal(store.getProject('linked'), undefined);
  assert.equal((await post(app, '', { id: 'inner', root: join(dir, 'allowed', 'tiles') })).status, 201);

  // Created while any root was allowed, then served by a tracker that limits roots: refused by the real path.
  const open = appWith();
  assert.equal((await post(open, '', { id: 'was-open', root: join(dir, 'allowed', 'escape') })).status, 201);
  assert.equal((await post(open, '/was-open/images', { images: [{ key: 'x.png' }] })).status, 200);
  assert.equal(
    (await thumb(open, 'was-open', 'x.png')).status,
    200,
    'inside the real folder of its own root',
  );
  assert.equal((await thumb(app, 'was-open', 'x.png')).status, 403);
});
