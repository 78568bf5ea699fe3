// Write routes of the label store count their bodies while they stream in: an oversize body is refused with 413 as
// soon as it passes the limit (or at once when its Content-Length says so), before it is parsed, and stores nothing.
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

const TOKEN = 'limits-token';
const MiB = 1 << 20;
let dir: string;
let store: LabelStore;
let app: Hono;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labels-limits-'));
  store = LabelStore.open(join(dir, 'labels.db'));
  store.createProject('p');
  // The default limits: 32 MiB of JSON, 64 MiB of CSV.
  app = new Hono().onError(answerError).route(
    '/projects',
    labelsRouter({ store, storage: new LocalStorage(dir), token: TOKEN, cacheDir: join(dir, 'thumbs') }),
  );
});
after(async () => {
  store?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A body of `total` bytes made on demand: head, then filler, then tail; `pulled()` says how much was read. */
function streamedBody(total: number, head: string, filler: string, tail: string) {
  let sent = 0;
  const chunk = Buffer.from(filler.repeat(Math.floor(MiB / filler.length))); // whole fillers: the body stays valid
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent === 0) {
          controller.enqueue(Buffer.from(head));
          sent += head.length;
        } else if (sent + chunk.length + tail.length < total) {
          controller.enqueue(chunk);
          sent += chunk.length;
        } else {
          controller.enqueue(Buffer.from(tail));
          sent += tail.length;
          controller.close();
        }
      },
    },
    { highWaterMark: 0 },
  ); // nothing is made before the server reads
  return { stream, pulled: () => sent };
}

const send = (
  path: string,
  body: ReadableStream<Uint8Array> | string,
  headers: Record<string, string> = {},
) =>
  app.request(`/projects${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body,
    duplex: 'half',
  } as RequestInit);

test('a 100 MB JSON body without a length is refused with 413 after at most the limit is read', async () => {
  // About 1 kB per image, so the images fit the schema's 100 000 and only the size is wrong.
  const entry = `{"key":"images/${'a'.repeat(980)}.png"},`;
  const body = streamedBody(100 * 1000 * 1000, '{"images":[', entry, '{"key":"last.png"}]}');
  const r = await send('/p/images', body.stream);
  assert.equal(r.status, 413);
  assert.match(
    ((await r.json()) as { error: string }).error,
    /larger than 33554432 bytes; send the items in several/,
  );
  assert.ok(body.pulled() <= 33 * MiB + 100, `read ${body.pulled()} bytes of 100 MB`);
  assert.equal(store.table('p').length, 0, 'no image stored');
});

test('a declared Content-Length over the limit is refused before any byte is read', async () => {
  for (const path of ['/p/images', '/p/predictions', '/p/queue', '/', '/p/classes']) {
    const body = streamedBody(40 * MiB, '{"images":[', ' ', ']}');
    const r = await send(path, body.stream, { 'content-length': String(40 * MiB) });
    assert.equal(r.status, 413, path);
    assert.equal(body.pulled(), 0, path);
  }
});

test('writes without the token are 401 before the body is read', async () => {
  const body = streamedBody(40 * MiB, '{"images":[', ' ', ']}');
  const r = await send('/p/images', body.stream, { authorization: 'Bearer wrong' });
  assert.equal(r.status, 401);
  assert.equal(body.pulled(), 0);
});

test('a 70 MB CSV import is refused while it streams, and nothing is imported', async () => {
  const body = streamedBody(
    70 * 1000 * 1000,
    'filepath,exclude,validation,cat\n',
    'a.png,False,False,1\n',
    'z.png,False,False,0\n',
  );
  const r = await send('/p/import.csv', body.stream, { 'content-type': 'text/csv' });
  assert.equal(r.status, 413);
  assert.match(((await r.json()) as { error: string }).error, /larger than 67108864 bytes; split the CSV/);
  assert.ok(body.pulled() <= 65 * MiB + 100, `read ${body.pulled()} bytes of 70 MB`);
  assert.equal(store.table('p').length, 0);
  assert.deepEqual(store.classes('p'), []);
});

test('bodies under the limit are still accepted', async () => {
  const images = Array.from({ length: 1000 }, (_, i) => ({ key: `ok/${i}.png` }));
  const r = await send('/p/images', JSON.stringify({ images }));
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { added: 1000 });
});
