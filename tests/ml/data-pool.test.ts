// The decode pool's batches against decode -> augment -> Sobel on the main thread (what loadStepBatch did before the
// pool; the first version of this test compared against that code itself), pixel for pixel, for the same seed and
// steps; then the prefetcher's order, statistics, failures and closing.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { acquireDecodePool, closeDecodePool } from '../../ml/data/decode-pool.ts';
import { augmentImage, decodeImage, sobel, type Batch, type Image } from '../../ml/data/index.ts';
import { BatchPrefetcher } from '../../ml/data/prefetch.ts';
import { parseInputOptions, resolveAugment, type InputOptionsIn } from '../../ml/data/options.ts';
import { STREAM, derivedSeed, loadStepBatch, openTrainingBatches, type StepBatchOptions } from '../../ml/methods/plan.ts';
import { Rng } from '../../ml/rng.ts';

after(() => closeDecodePool());

/** Noisy RGB and grey PNGs and JPEGs of assorted sizes, plus one file that is not an image. */
async function mixedImages(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pw-data-pool-'));
  const paths: string[] = [];
  let seed = 7;
  const noise = (n: number) => Uint8Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24));
  const sizes: Array<[number, number, number, 'png' | 'jpeg']> = [
    [28, 28, 1, 'png'],
    [30, 41, 3, 'png'],
    [96, 80, 3, 'jpeg'],
    [64, 64, 1, 'jpeg'],
    [300, 280, 3, 'png'],
    [17, 23, 3, 'jpeg'],
  ];
  for (let i = 0; i < 12; i++) {
    const [h, w, c, format] = sizes[i % sizes.length]!;
    let image = sharp(noise(h * w * c), { raw: { width: w, height: h, channels: c as 1 | 3 } });
    if (c === 1) image = image.toColourspace('b-w');
    const path = join(dir, `img-${i}.${format}`);
    writeFileSync(path, await (format === 'png' ? image.png() : image.jpeg({ quality: 85 })).toBuffer());
    paths.push(path);
  }
  const broken = join(dir, 'broken.png');
  writeFileSync(broken, 'not an image');
  paths.splice(5, 0, broken);
  return paths;
}

/** The loader's contract written out on one thread: decode each key in order, one augmentation stream, Sobel. */
async function mainThreadBatch(options: StepBatchOptions): Promise<Batch> {
  const { input } = options;
  const rng = Rng.fromSeed(derivedSeed(options.seed, STREAM.augment, options.step));
  const images: Image[] = [];
  const keys: string[] = [];
  for (const key of options.keys) {
    let image: Image;
    try {
      image = await decodeImage(await options.read(key), key, input);
    } catch (error) {
      options.onSkip?.(key, (error as Error).message);
      continue;
    }
    if (options.augment) image = augmentImage(image, options.augment, rng);
    if (input.sobel) image = sobel(image);
    images.push(image);
    keys.push(key);
  }
  const { height, width, channels } = images[0]!;
  const data = new Float32Array(images.length * height * width * channels);
  images.forEach((im, i) => data.set(im.data, i * im.data.length));
  return { images: data, shape: [images.length, height, width, channels], keys };
}

async function compare(input: InputOptionsIn, augment: Parameters<typeof resolveAugment>[0]) {
  const paths = await mixedImages();
  const options = parseInputOptions(input);
  const params = resolveAugment(augment);
  const lease = acquireDecodePool(2);
  try {
    for (const step of [0, 1, 17]) {
      const keys = step === 1 ? [...paths].reverse() : paths;
      const oldSkips: string[] = [];
      const newSkips: string[] = [];
      const expected = await mainThreadBatch({
        keys,
        read: (k) => readFile(k),
        input: options,
        augment: params,
        seed: 42,
        step,
        onSkip: (key) => oldSkips.push(key),
      });
      const split = await loadStepBatch({
        keys,
        read: (k) => readFile(k),
        input: options,
        augment: params,
        seed: 42,
        step,
        onSkip: (key) => newSkips.push(key),
      });
      // loadStepBatch splits the batch over the pool's threads; a prefetched batch is one task on one thread.
      const prefetched = openTrainingBatches({
        keysAt: () => keys,
        read: (k) => readFile(k),
        input: options,
        augment: params,
        seed: 42,
        fromStep: step,
        toStep: step + 1,
      });
      const whole = await prefetched.next().finally(() => prefetched.close());
      for (const [name, actual] of [['split', split], ['whole', whole]] as const) {
        assert.deepEqual(actual.keys, expected.keys, name);
        assert.deepEqual(actual.shape, expected.shape, name);
        assert.equal(actual.images.length, expected.images.length, name);
        const firstDifference = actual.images.findIndex((v, i) => !Object.is(v, expected.images[i]));
        assert.equal(firstDifference, -1, `${name}, step ${step}: first differing sample at ${firstDifference}`);
      }
      assert.deepEqual([...newSkips].sort(), oldSkips.sort());
    }
  } finally {
    lease.release();
  }
}

test('RGB with every augmentation: the same pixels, keys and skips as on the main thread', async () => {
  await compare({ imshape: [32, 32], num_channels: 3, single_channel: true, batch_size: 13 }, true);
});

test('grey, Sobel, flips and brightness only: the same pixels as on the main thread', async () => {
  await compare(
    { imshape: [20, 24], num_channels: 1, sobel: true, norm: 127.5 },
    { left_right_flip: true, max_brightness_delta: 0.3, zoom_scale: 0.2 },
  );
});

test('without augmentation: the same pixels as on the main thread', async () => {
  await compare({ imshape: [64, 64], num_channels: 3, single_channel: true }, false);
});

test('an unreadable key and a corrupt file are reported and left out; a step with no image left fails by name', async () => {
  const paths = (await mixedImages()).filter((p) => !p.endsWith('broken.png')).slice(0, 3);
  const dir = mkdtempSync(join(tmpdir(), 'pw-data-pool-bad-'));
  const corrupt = join(dir, 'corrupt.jpeg');
  writeFileSync(corrupt, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
  const missing = join(dir, 'missing.png');
  const input = parseInputOptions({ imshape: [8, 8], num_channels: 3, single_channel: true });
  const skipped = new Map<string, string>();
  const batch = await loadStepBatch({
    keys: [paths[0]!, missing, paths[1]!, corrupt, paths[2]!],
    read: (k) => readFile(k),
    input,
    augment: null,
    seed: 1,
    step: 3,
    onSkip: (key, reason) => skipped.set(key, reason),
  });
  assert.deepEqual(batch.keys, paths);
  assert.deepEqual(batch.shape, [3, 8, 8, 3]);
  assert.match(skipped.get(missing)!, /ENOENT/);
  assert.match(skipped.get(corrupt)!, /corrupt\.jpeg: cannot decode image/);
  await assert.rejects(
    loadStepBatch({ keys: [missing, corrupt], read: (k) => readFile(k), input, augment: null, seed: 1, step: 9 }),
    /step 9: none of its 2 images could be decoded/,
  );
});

test('with file paths the pool threads read the files: the same batch, and a missing file is reported', async () => {
  const paths = await mixedImages();
  const missing = join(tmpdir(), 'pw-data-pool-no-such-file.png');
  const keys = [...paths.slice(0, 4), missing, ...paths.slice(4)];
  const input = parseInputOptions({ imshape: [24, 24], num_channels: 3, single_channel: true });
  const augment = resolveAugment(true);
  const viaRead = await loadStepBatch({ keys, read: (k) => readFile(k), input, augment, seed: 3, step: 2 });
  let reads = 0;
  const skipped = new Map<string, string>();
  const viaPath = await loadStepBatch({
    keys,
    read: async () => {
      reads++;
      return new Uint8Array();
    },
    filePath: (key) => key,
    input,
    augment,
    seed: 3,
    step: 2,
    onSkip: (key, reason) => skipped.set(key, reason),
  });
  assert.equal(reads, 0);
  assert.deepEqual(viaPath.keys, viaRead.keys);
  assert.ok(viaPath.images.every((v, i) => Object.is(v, viaRead.images[i])), 'pixels');
  assert.deepEqual([...skipped.keys()].sort(), [missing, paths[5]!].sort());
  assert.match(skipped.get(missing)!, /ENOENT/);
});

test('at most num_parallel_calls reads run at once', async () => {
  const paths = (await mixedImages()).filter((p) => !p.endsWith('broken.png'));
  let running = 0;
  let maxRunning = 0;
  const read = async (key: string) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      await new Promise((resolve) => setImmediate(resolve));
      return await readFile(key);
    } finally {
      running--;
    }
  };
  const input = parseInputOptions({ imshape: [8, 8], num_channels: 3, single_channel: true, num_parallel_calls: 3 });
  const batch = await loadStepBatch({ keys: paths, read, input, augment: null, seed: 1, step: 0 });
  assert.equal(batch.keys.length, paths.length);
  assert.equal(maxRunning, 3);
});

test('training batches come in step order, equal to loadStepBatch, with input statistics', async () => {
  const paths = (await mixedImages()).filter((p) => !p.endsWith('broken.png'));
  const input = parseInputOptions({ imshape: [16, 16], num_channels: 3, single_channel: true, batch_size: 4 });
  const augment = resolveAugment(true);
  const keysAt = (step: number) => [0, 1, 2, 3].map((i) => paths[(step * 5 + i) % paths.length]!);
  const read = (k: string) => readFile(k);
  const batches = openTrainingBatches({ keysAt, read, input, augment, seed: 5, fromStep: 4, toStep: 9, threads: 2 });
  let images = 0;
  try {
    for (let step = 4; step < 9; step++) {
      const batch = await batches.next();
      const expected = await loadStepBatch({ keys: keysAt(step), read, input, augment, seed: 5, step });
      assert.deepEqual(batch.keys, expected.keys);
      assert.ok(batch.images.every((v, i) => Object.is(v, expected.images[i])), `step ${step} pixels`);
      images += batch.shape[0];
    }
    await assert.rejects(batches.next(), /no step after 8/);
    const stats = batches.stats();
    assert.equal(stats.images, images);
    assert.equal(stats.batches, 5);
    assert.ok(stats.waitMs >= 0 && stats.waitMs <= stats.elapsedMs);
    assert.ok(stats.inputWaitFraction >= 0 && stats.inputWaitFraction <= 1);
    assert.ok(stats.imagesPerSecond > 0);
  } finally {
    await batches.close();
  }
});

const fakeBatch = (step: number): Batch => ({ images: new Float32Array(2), shape: [2, 1, 1, 1], keys: [`k${step}`, `j${step}`] });

test('the prefetcher loads at most depth steps ahead, and a failed step fails only the next() that reaches it', async () => {
  const started: number[] = [];
  const prefetcher = new BatchPrefetcher({
    load: async (step) => {
      started.push(step);
      if (step === 2) throw new Error('step 2 broke');
      return fakeBatch(step);
    },
    fromStep: 0,
    toStep: 6,
    depth: 3,
  });
  assert.deepEqual(started, [0, 1, 2]);
  assert.deepEqual((await prefetcher.next()).keys, ['k0', 'j0']);
  assert.deepEqual(started, [0, 1, 2, 3]);
  assert.deepEqual((await prefetcher.next()).keys, ['k1', 'j1']);
  await assert.rejects(prefetcher.next(), /step 2 broke/);
  assert.deepEqual((await prefetcher.next()).keys, ['k3', 'j3']);
  assert.equal(prefetcher.stats().images, 6);
  await prefetcher.close();
  await assert.rejects(prefetcher.next(), /closed/);
});

test('closing waits for the loads in flight, drops their failures and runs onClose once', async () => {
  let closed = 0;
  let finish: () => void = () => {};
  const gate = new Promise<void>((resolve) => (finish = resolve));
  const prefetcher = new BatchPrefetcher({
    load: async (step) => {
      await gate;
      if (step === 1) throw new Error('nobody asked');
      return fakeBatch(step);
    },
    fromStep: 0,
    toStep: 10,
    depth: 2,
    onClose: () => closed++,
  });
  const closing = prefetcher.close();
  finish();
  await closing;
  await prefetcher.close();
  assert.equal(closed, 1);
});
