// Projects rooted at their own folder or s3:// location: thumbnails come from there, PATCHWORK_IMAGE_ROOTS limits
// which locations may be named, and keys still cannot leave the root. Real MinIO for the s3:// case.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import sharp from 'sharp';
import { LocalStorage, S3Storage } from '../../../storage/index.ts';
import { imageRootsFromEnv } from '../../../tracker/labels/image-sources.ts';
import { answerError } from '../../../tracker/api/errors.ts';
import { labelsRouter } from '../../../tracker/labels/routes.tsx';
import { LabelStore } from '../../../tracker/labels/store.ts';
import { makeImage } from '../../helpers/images.ts';
import { startStack, type TestStack } from '../../helpers/stack.ts';

const TOKEN = 'roots-token';
let dir: string;
let stack: TestStack;
let store: LabelStore;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labels-roots-'));
  stack = await startStack({ s3: true });
  await mkdir(join(dir, 'base'));
  await mkdir(join(dir, 'elsewhere', 'tiles'), { recursive: true });
  await writeFile(join(dir, 'elsewhere', 'tiles', 'a.png'), await makeImage('png', 40, 20, 3, 1));
  await writeFile(join(dir, 'elsewhere', 'secret.png'), await makeImage('png', 8, 8, 3, 2));
  const bucket = new S3Storage(stack.settings.s3!, 'patchwork', 'projects/sat');
  await bucket.ensureBucket();
  await bucket.put('b.png', await makeImage('png', 30, 30, 3, 3));
  store = LabelStore.open(join(dir, 'labels.db'));
});
after(async () => {
  store?.close();
  await stack?.stop();
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
      imageRoots: { allowedRoots, s3: stack.settings.s3 },
    }),
  );
}
const post = (app: Hono, path: string, body: unknown) =>
  app.request(`/projects${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
  });
const projectIds = async (app: Hono) =>
  ((await (await app.request('/projects')).json()) as { projects: { id: string }[] }).projects.map((p) => p.id);

test('a project rooted at an absolute folder outside the base storage shows its images', async () => {
  const app = appWith();
  const root = join(dir, 'elsewhere', 'tiles');
  assert.equal((await post(app, '', { id: 'local', root })).status, 201);
  assert.equal((await post(app, '/local/images', { images: [{ key: 'a.png' }] })).status, 200);
  const r = await app.request('/projects/local/images/a.png?size=64');
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal(r.headers.get('content-type'), 'image/jpeg');
  const meta = await sharp(Buffer.from(await r.arrayBuffer())).metadata();
  assert.deepEqual([meta.width, meta.height], [64, 32], 'the 40x20 image, fitted inside 64 pixels');

  const escape = await app.request('/projects/local/images/..%2Fsecret.png');
  assert.equal(escape.status, 400, 'a key cannot climb out of the project root');
});

test('a project rooted at s3://bucket/prefix reads thumbnails from the S3 server', async () => {
  const app = appWith();
  assert.equal((await post(app, '', { id: 'bucket', root: 's3://patchwork/projects/sat' })).status, 201);
  await post(app, '/bucket/images', { images: [{ key: 'b.png' }] });
  const r = await app.request('/projects/bucket/images/b.png?size=64');
  assert.equal(r.status, 200, await r.clone().text());
  const meta = await sharp(Buffer.from(await r.arrayBuffer())).metadata();
  assert.deepEqual([meta.width, meta.height], [64, 64]);
});

test('PATCHWORK_IMAGE_ROOTS refuses other locations and nothing is created', async () => {
  const allowed = imageRootsFromEnv(` ${join(dir, 'elsewhere')}/ , s3://patchwork/projects`);
  assert.deepEqual(allowed, [join(dir, 'elsewhere'), 's3://patchwork/projects']);
  const app = appWith(allowed);
  const before = await projectIds(app);

  const outside = await post(app, '', { id: 'outside', root: join(dir, 'base') });
  assert.equal(outside.status, 403);
  assert.match(((await outside.json()) as { error: string }).error, /PATCHWORK_IMAGE_ROOTS/);
  const otherBucket = await post(app, '', { id: 'other', root: 's3://other-bucket' });
  assert.equal(otherBucket.status, 403);
  const sibling = await post(app, '', { id: 'sibling', root: `${join(dir, 'elsewhere')}-2` });
  assert.equal(sibling.status, 403, 'a folder whose name only starts like an allowed root is outside it');
  assert.deepEqual(await projectIds(app), before);

  assert.equal((await post(app, '', { id: 'inside', root: join(dir, 'elsewhere', 'tiles') })).status, 201);
  // A project created earlier under a root that is no longer allowed stops serving images.
  const r = await app.request('/projects/bucket/images/b.png?size=32');
  assert.equal(r.status, 200, 's3://patchwork/projects/sat is inside s3://patchwork/projects');
  const narrowed = appWith([join(dir, 'elsewhere')]);
  assert.equal((await narrowed.request('/projects/bucket/images/b.png?size=32')).status, 403);
});

test('a root that is not canonical is refused with the form to use', async () => {
  const app = appWith();
  for (const root of [`${dir}/elsewhere/../base`, 's3://Bad_Bucket/x', 's3://patchwork/a//b', 'ftp://host/x']) {
    const r = await post(app, '', { id: 'bad', root });
    assert.equal(r.status, 400, `${root} → ${r.status}`);
    assert.match(((await r.json()) as { error: string }).error, /root|key|location/i);
  }
  assert.throws(() => imageRootsFromEnv('relative/folder'), /PATCHWORK_IMAGE_ROOTS/);
});
