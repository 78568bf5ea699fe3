// Images of an S3 source are fetched by the decode pool's threads (presigned URLs, storage/pool-reader.ts), not read on
// the training loop's thread: the batches equal those of the same images in a local folder, the `read` callback is
// never called, a missing object is left out with a reason naming its key, and transient failures are retried.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { closeDecodePool } from '../ml/data/decode-pool.ts';
import type { Batch } from '../ml/data/index.ts';
import { parseInputOptions, resolveAugment } from '../ml/data/options.ts';
import { loadStepBatch, openTrainingBatches } from '../ml/methods/plan.ts';
import { createS3Client, LocalStorage, poolReader, S3Storage, type Storage } from '../storage/index.ts';
import { GetPresigner } from '../storage/s3-client.ts';
import { startStack, type TestStack } from './helpers/stack.ts';

/** Noisy PNGs and JPEGs, RGB and grey, of assorted sizes, under keys that need escaping in a URL. */
async function images(): Promise<Array<{ key: string; bytes: Buffer }>> {
  let seed = 11;
  const noise = (n: number) =>
    Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  const specs: Array<[string, number, number, 1 | 3, 'png' | 'jpeg']> = [
    ['plain/one.png', 28, 28, 1, 'png'],
    ['plain/two.jpg', 96, 80, 3, 'jpeg'],
    ['with space/a+b (1).png', 30, 41, 3, 'png'],
    ["odd/it's*~!.jpeg", 64, 64, 1, 'jpeg'],
    ['unicode/ü/日本.png', 300, 280, 3, 'png'],
    ['plain/three.jpg', 17, 23, 3, 'jpeg'],
  ];
  const files = [];
  for (const [key, h, w, c, format] of specs) {
    let image = sharp(noise(h * w * c), { raw: { width: w, height: h, channels: c } });
    if (c === 1) image = image.toColourspace('b-w');
    files.push({
      key,
      bytes: await (format === 'png' ? image.png() : image.jpeg({ quality: 85 })).toBuffer(),
    });
  }
  return files;
}

/** A read callback that counts its calls: the pool's threads must fetch the objects themselves. */
function countedRead(store: Storage) {
  const counted = { calls: 0, read: (key: string) => (counted.calls++, store.get(key)) };
  return counted;
}

function assertSameBatch(actual: Batch, expected: Batch) {
  assert.deepEqual(actual.keys, expected.keys);
  assert.deepEqual(actual.shape, expected.shape);
  assert.equal(actual.images.length, expected.images.length);
  assert.ok(
    actual.images.every((v, i) => Object.is(v, expected.images[i])),
    'identical pixels',
  );
}

const input = parseInputOptions({ imshape: [24, 24], num_channels: 3, single_channel: true, batch_size: 4 });
const augment = resolveAugment(true);

describe('S3 sources are read on the decode pool threads', () => {
  let stack: TestStack;
  let dir: string;
  let s3: S3Storage;
  let local: LocalStorage;
  let keys: string[];

  before(async () => {
    stack = await startStack({ s3: true });
    dir = await mkdtemp(join(tmpdir(), 'patchwork-s3-pool-'));
    s3 = new S3Storage(stack.settings.s3!, 'pool-reads', 'train/set');
    await s3.ensureBucket();
    local = new LocalStorage(dir);
    const files = await images();
    for (const file of files)
      await Promise.all([s3.put(file.key, file.bytes), local.put(file.key, file.bytes)]);
    await s3.put('bad/notes.txt', 'not pixels');
    keys = files.map((file) => file.key);
  });
  after(async () => {
    await closeDecodePool();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('presigned URLs are signed locally and equal the minio client`s', async () => {
    const connection = stack.settings.s3!;
    const date = new Date('2026-11-30T18:30:05.123Z');
    const presigner = new GetPresigner(connection, 'pool-reads');
    for (const name of keys.map((key) => `train/set/${key}`)) {
      const expected = await createS3Client(connection).presignedGetObject(
        'pool-reads',
        name,
        3600,
        {},
        date,
      );
      assert.equal(presigner.url(name, 3600, date), expected, name);
    }
    // Amazon's global endpoint: the minio client signs for the region's endpoint (no request: the region is given).
    const aws = {
      endpoint: 'https://s3.amazonaws.com',
      accessKey: 'AKIDEXAMPLE',
      secretKey: 'secret',
      region: 'eu-west-1',
    };
    // The bucket goes into the host name, unless it has dots (path-style then, as TLS certificates would not match).
    for (const bucket of ['some-bucket', 'some.dotted.bucket']) {
      const expected = await createS3Client(aws).presignedGetObject(bucket, 'a/b c.png', 600, {}, date);
      assert.equal(new GetPresigner(aws, bucket).url('a/b c.png', 600, date), expected, bucket);
    }
  });

  test('the same batches as from a local folder, and the main thread never reads the bytes', async () => {
    const s3Read = countedRead(s3);
    const localRead = countedRead(local);
    for (const step of [0, 1]) {
      const options = { keys, input, augment, seed: 5, step };
      const fromS3 = await loadStepBatch({ ...options, read: s3Read.read, filePath: poolReader(s3) });
      const fromFolder = await loadStepBatch({
        ...options,
        read: localRead.read,
        filePath: poolReader(local),
      });
      assert.equal(fromS3.keys.length, keys.length);
      assertSameBatch(fromS3, fromFolder);
    }
    // Training batches are one task per batch (the loaders above split a batch over every thread).
    const training = (store: Storage, read: (key: string) => Promise<Uint8Array>) =>
      openTrainingBatches({
        keysAt: (step) => keys.slice(step, step + 4),
        read,
        filePath: poolReader(store),
        input,
        augment,
        seed: 9,
        fromStep: 0,
        toStep: 2,
      });
    const [fromS3, fromFolder] = [training(s3, s3Read.read), training(local, localRead.read)];
    try {
      for (let step = 0; step < 2; step++) assertSameBatch(await fromS3.next(), await fromFolder.next());
    } finally {
      await Promise.all([fromS3.close(), fromFolder.close()]);
    }
    assert.equal(s3Read.calls, 0, 'no S3 read on the main thread');
    assert.equal(localRead.calls, 0);
  });

  test('a missing object is left out with a reason naming its key; the rest of the batch loads', async () => {
    const s3Read = countedRead(s3);
    const skipped = new Map<string, string>();
    const withGaps = [
      keys[0]!,
      'plain/no-such-image.png',
      ...keys.slice(1, 4),
      'bad/notes.txt',
      ...keys.slice(4),
    ];
    const batch = await loadStepBatch({
      keys: withGaps,
      read: s3Read.read,
      filePath: poolReader(s3),
      input,
      augment,
      seed: 5,
      step: 0,
      onSkip: (key, reason) => skipped.set(key, reason),
    });
    assert.equal(s3Read.calls, 0);
    assert.deepEqual(batch.keys, keys);
    assert.deepEqual([...skipped.keys()].sort(), ['bad/notes.txt', 'plain/no-such-image.png']);
    assert.match(
      skipped.get('plain/no-such-image.png')!,
      /^no object "plain\/no-such-image\.png" at http:\/\/[^/]+\/pool-reads\/train\/set\/plain\/no-such-image\.png$/,
    );
    assert.doesNotMatch(
      skipped.get('plain/no-such-image.png')!,
      /X-Amz-Signature/,
      'no signed URL in messages',
    );
    assert.match(skipped.get('bad/notes.txt')!, /bad\/notes\.txt: cannot decode image/);
    await assert.rejects(
      loadStepBatch({
        keys: ['gone/a.png', 'gone/b.png'],
        read: s3Read.read,
        filePath: poolReader(s3),
        input,
        augment: null,
        seed: 1,
        step: 7,
      }),
      /step 7: none of its 2 images could be decoded/,
    );
  });

  test('a reset connection and a 503 are retried, then the object is read', async () => {
    // In front of the real MinIO: each object's first request loses its connection, the second gets a 503 SlowDown,
    // the third goes through (the Host header is kept, so the signature holds).
    const target = new URL(stack.settings.s3!.endpoint);
    const seen = new Map<string, number>();
    const proxy: Server = createServer((req, res) => {
      const path = req.url!.split('?')[0]!;
      const attempt = (seen.get(path) ?? 0) + 1;
      seen.set(path, attempt);
      if (attempt === 1) return req.socket.destroy();
      if (attempt === 2) return res.writeHead(503).end('<Error><Code>SlowDown</Code></Error>');
      const forward = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const flaky = new S3Storage({ ...stack.settings.s3!, endpoint }, 'pool-reads', 'train/set');
      const skipped: string[] = [];
      const options = { keys, input, augment, seed: 5, step: 3, onSkip: (key: string) => skipped.push(key) };
      const viaProxy = await loadStepBatch({
        ...options,
        read: countedRead(flaky).read,
        filePath: poolReader(flaky),
      });
      assert.deepEqual(skipped, []);
      assert.deepEqual(
        [...seen.values()],
        keys.map(() => 3),
        'three requests per object',
      );
      assertSameBatch(
        viaProxy,
        await loadStepBatch({ ...options, read: (key) => local.get(key), filePath: poolReader(local) }),
      );
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
