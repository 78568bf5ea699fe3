import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadBatches, type Batch, type BatchSource } from '../../ml/data/batches.ts';
import { Rng } from '../../ml/rng.ts';

/** n real PNG files in a temp folder; image i is a flat grey of value i + 1, so a batch shows which files it holds. */
async function flatPngs(n: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pw-data-batches-'));
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const path = join(dir, `img-${i}.png`);
    const png = await sharp(new Uint8Array(6 * 6).fill(i + 1), { raw: { width: 6, height: 6, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    writeFileSync(path, png);
    paths.push(path);
  }
  return paths;
}

const valueOf = (path: string) => Number(/img-(\d+)\.png$/.exec(path)![1]) + 1;

async function collect(source: BatchSource): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loadBatches(source)) out.push(b);
  return out;
}

const input = {
  imshape: [4, 4] as [number, number],
  num_channels: 1,
  norm: 1,
  batch_size: 4,
  num_parallel_calls: 3,
};

test('without shuffle, batches hold the keys in order, with matching pixels and a short last batch', async () => {
  const paths = await flatPngs(10);
  const batches = await collect({ keys: paths, read: (k) => readFile(k), input });
  assert.deepEqual(
    batches.map((b) => b.shape),
    [
      [4, 4, 4, 1],
      [4, 4, 4, 1],
      [2, 4, 4, 1],
    ],
  );
  assert.deepEqual(
    batches.flatMap((b) => b.keys),
    paths,
  );
  for (const b of batches) {
    b.keys.forEach((key, i) => {
      const pixels = b.images.subarray(i * 16, (i + 1) * 16);
      assert.ok(
        pixels.every((v) => v === valueOf(key)),
        `${key} pixels`,
      );
    });
  }
});

test('shuffle is a seeded permutation: same seed, same order; another seed, another order', async () => {
  const paths = await flatPngs(12);
  const order = async (seed: number) =>
    (
      await collect({
        keys: paths,
        read: (k) => readFile(k),
        input: { ...input, shuffle: true },
        rng: Rng.fromSeed(seed),
      })
    ).flatMap((b) => b.keys);
  const a = await order(5);
  assert.deepEqual(await order(5), a);
  assert.deepEqual([...a].sort(), [...paths].sort());
  assert.notDeepEqual(a, paths);
  assert.notDeepEqual(await order(6), a);
});

test('a corrupt file and an unreadable key are skipped and reported; the epoch goes on', async () => {
  const paths = await flatPngs(6);
  writeFileSync(paths[2]!, 'not an image');
  const missing = join(tmpdir(), 'pw-data-batches-does-not-exist.png');
  const reported: string[] = [];
  const stream = loadBatches({
    keys: [...paths.slice(0, 4), missing, ...paths.slice(4)],
    read: (k) => readFile(k),
    input,
    onSkip: (s) => reported.push(s.key),
  });
  const keys: string[] = [];
  for await (const b of stream) keys.push(...b.keys);
  assert.deepEqual(keys, [paths[0], paths[1], paths[3], paths[4], paths[5]]);
  assert.deepEqual(reported, [paths[2], missing]);
  assert.deepEqual(
    stream.skipped.map((s) => s.key),
    [paths[2], missing],
  );
  assert.match(stream.skipped[0]!.reason, /cannot decode image/);
  assert.match(stream.skipped[1]!.reason, /ENOENT/);
});

test('at most num_parallel_calls reads run at once, and reading stays a bounded distance ahead of the consumer', async () => {
  const paths = await flatPngs(40);
  let running = 0,
    maxRunning = 0,
    started = 0,
    consumed = 0,
    maxAhead = 0;
  const read = async (k: string) => {
    running++;
    started++;
    maxRunning = Math.max(maxRunning, running);
    try {
      return await readFile(k);
    } finally {
      running--;
    }
  };
  const opts = { ...input, batch_size: 2, prefetch: 1, num_parallel_calls: 3 };
  for await (const b of loadBatches({ keys: paths, read, input: opts })) {
    maxAhead = Math.max(maxAhead, started - consumed);
    consumed += b.keys.length;
    await readFile(paths[0]!); // give the producer real I/O time to run ahead if it were unbounded
  }
  assert.ok(maxRunning <= 3 && maxRunning >= 2, `max concurrent reads ${maxRunning}`);
  // the batch in hand + `prefetch` queued batches + one being filled + reads in flight
  assert.ok(maxAhead <= 2 * (1 + 1 + 1) + 3, `read ${maxAhead} images ahead`);
});

test('augment and sobel run in the pipeline; bad configs throw before any reading', async () => {
  const paths = await flatPngs(3);
  const [b] = await collect({
    keys: paths,
    read: (k) => readFile(k),
    input: { ...input, norm: 255, sobel: true },
    augment: { max_brightness_delta: 0.01 },
    rng: Rng.fromSeed(1),
  });
  assert.deepEqual(b!.shape, [3, 4, 4, 3]);
  // flat images have no edges: sobel gives 0.5, 0.5, 0 whatever the brightness
  assert.ok(b!.images.every((v, i) => Math.abs(v - (i % 3 === 2 ? 0 : 0.5)) < 1e-6));
  assert.throws(() => loadBatches({ keys: paths, read: (k) => readFile(k), augment: true }), /pass rng/);
  assert.throws(
    () =>
      loadBatches({
        keys: paths,
        read: (k) => readFile(k),
        input: { num_channels: 1 },
        augment: true,
        rng: Rng.fromSeed(1),
      }),
    /max_hue_delta needs 3-channel/,
  );
  assert.throws(
    () => loadBatches({ keys: paths, read: (k) => readFile(k), input: { batch_size: 0 } }),
    /input\.batch_size/,
  );
});

test('breaking out of the loop stops the pass without errors', async () => {
  const paths = await flatPngs(20);
  let reads = 0;
  const stream = loadBatches({
    keys: paths,
    read: (k) => (reads++, readFile(k)),
    input: { ...input, batch_size: 2 },
  });
  for await (const b of stream) {
    assert.equal(b.keys.length, 2);
    break;
  }
  assert.ok(reads < 20, `stopped early after ${reads} reads`);
});
