import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStorage, S3Storage, StorageError, openStorage, parseLocation, type Storage } from '../storage/index.ts';
import { freePort } from './helpers/net.ts';
import { S3_TEST_CREDENTIALS, startStack, type TestStack } from './helpers/stack.ts';

const TRICKY_KEYS = ['a-b.png', 'a/x.png', 'a/y/z.png', 'a.png', 'b', 'ab/c.png', 'a/x.png.bak', 'Z.png', '_u.png'];

async function collect(storage: Storage, prefix = '', startAfter?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of storage.list(prefix, { startAfter })) keys.push(object.key);
  return keys;
}

async function contract(storage: Storage) {
  for (const key of TRICKY_KEYS) await storage.put(key, `data of ${key}`);
  const byteOrder = [...TRICKY_KEYS].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  assert.deepEqual(await collect(storage), byteOrder, 'lists every key in S3 (byte) order');
  assert.deepEqual(await collect(storage, 'a/'), ['a/x.png', 'a/x.png.bak', 'a/y/z.png']);
  assert.deepEqual(await collect(storage, 'a'), byteOrder.filter((k) => k.startsWith('a')));
  assert.deepEqual(await collect(storage, '', 'a/x.png'), byteOrder.slice(byteOrder.indexOf('a/x.png') + 1));
  assert.equal((await storage.get('a/y/z.png')).toString(), 'data of a/y/z.png');
  assert.equal(await storage.exists('a/y/z.png'), true);
  assert.equal(await storage.exists('a/y'), false);
  await storage.delete('a/y/z.png');
  assert.equal(await storage.exists('a/y/z.png'), false);
  await assert.rejects(storage.get('a/y/z.png'), (e: StorageError) => e.code === 'NOT_FOUND');
  for (const hostile of ['../escape.png', 'a/../../escape.png', '..', 'a\\..\\b']) {
    await assert.rejects(storage.put(hostile, 'x'), /invalid storage key/, hostile);
    await assert.rejects(storage.get(hostile), /invalid storage key/, hostile);
  }
}

describe('storage', () => {
  let stack: TestStack;
  let dir: string;
  before(async () => {
    stack = await startStack({ s3: true });
    dir = await mkdtemp(join(tmpdir(), 'patchwork-storage-'));
  });
  after(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('local folder: contract, S3 key order, no traversal, atomic writes', async () => {
    const storage = new LocalStorage(join(dir, 'root'));
    await contract(storage);
    const names = await readdir(join(dir, 'root'));
    assert.ok(!names.some((n) => n.includes('tmp')), `no temp files left: ${names}`);
    await assert.rejects(readdir(join(dir, 'escape.png')), /ENOENT/);
  });

  test('S3 bucket: the same contract against MinIO', async () => {
    const storage = new S3Storage(stack.settings.s3!, "contract", "some/prefix");
    await storage.ensureBucket();
    await contract(storage);
  });

  test('a 5 000-object bucket lists completely, one page at a time', async () => {
    const storage = new S3Storage(stack.settings.s3!, 'many');
    await storage.ensureBucket();
    const keys = Array.from({ length: 5000 }, (_, i) => `img/${String(i).padStart(5, '0')}.png`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((key) => storage.put(key, key)));
    }
    let pages = 0;
    const paged = new S3Storage(stack.settings.s3!, 'many', '', { pageSize: 500, onListPage: () => pages++ });
    for await (const _ of paged.list()) break;
    assert.equal(pages, 1, 'reading the first object fetched only the first page');

    pages = 0;
    let count = 0;
    let last = '';
    for await (const object of paged.list()) {
      assert.ok(object.key > last);
      last = object.key;
      count++;
    }
    assert.equal(count, 5000);
    assert.ok(pages >= 10 && pages <= 11, `the listing was fetched in pages of 500 (got ${pages} pages)`);
  });

  test('a missing bucket gives NO_SUCH_BUCKET with the fix', async () => {
    const storage = openStorage('s3://no-such-bucket/x', stack.settings.s3);
    await assert.rejects(collect(storage), (error: StorageError) => {
      assert.equal(error.code, 'NO_SUCH_BUCKET');
      assert.match(error.message, /bucket "no-such-bucket" does not exist .* create it or fix the bucket name/);
      return true;
    });
  });

  test('bad credentials and an unreachable endpoint are named', async () => {
    const wrong = new S3Storage({ ...stack.settings.s3!, secretKey: 'wrong-secret' }, 'many');
    await assert.rejects(wrong.exists('img/00000.png'), (e: StorageError) => e.code === 'BAD_CREDENTIALS' && /S3_SECRET_KEY/.test(e.message));
    const nowhere = new S3Storage(
      { endpoint: `http://127.0.0.1:${await freePort()}`, ...S3_TEST_CREDENTIALS },
      'many',
      '',
      { retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 10 } },
    );
    await assert.rejects(collect(nowhere), (e: StorageError) => e.code === 'UNREACHABLE' && /cannot reach the S3 endpoint/.test(e.message));
  });

  test('locations parse, and bad ones are explained', () => {
    assert.deepEqual(parseLocation('s3://bucket/a/b'), { kind: 's3', bucket: 'bucket', prefix: 'a/b' });
    assert.deepEqual(parseLocation('./images'), { kind: 'local', path: './images' });
    assert.throws(() => parseLocation('s3://B_ad/x'), /not a valid bucket name/);
    assert.throws(() => parseLocation('http://example.com/x'), /only local folders and s3:/);
    assert.throws(() => openStorage('s3://bucket'), /needs an S3 endpoint/);
  });
});
