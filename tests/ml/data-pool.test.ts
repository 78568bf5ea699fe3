// The decode pool's batches against the main-thread loader, pixel for pixel, for the same seed and steps.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { acquireDecodePool, closeDecodePool } from '../../ml/data/decode-pool.ts';
import { loadBatch } from '../../ml/data/batch.ts';
import { parseInputOptions, resolveAugment, type InputOptionsIn } from '../../ml/data/options.ts';
import { STREAM, derivedSeed, loadStepBatch } from '../../ml/methods/plan.ts';

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
      const expected = await loadStepBatch({
        keys,
        read: (k) => readFile(k),
        input: options,
        augment: params,
        seed: 42,
        step,
        onSkip: (key) => oldSkips.push(key),
      });
      const actual = await loadBatch({
        keys,
        read: (k) => readFile(k),
        input: options,
        augment: params,
        augmentSeed: derivedSeed(42, STREAM.augment, step),
        pool: lease.pool,
        onSkip: (key) => newSkips.push(key),
        label: `step ${step}`,
      });
      assert.deepEqual(actual.keys, expected.keys);
      assert.deepEqual(actual.shape, expected.shape);
      assert.deepEqual(newSkips, oldSkips);
      assert.equal(actual.images.length, expected.images.length);
      const firstDifference = actual.images.findIndex((v, i) => !Object.is(v, expected.images[i]));
      assert.equal(firstDifference, -1, `step ${step}: first differing sample at ${firstDifference}`);
    }
  } finally {
    lease.release();
  }
}

test('RGB with every augmentation: the same pixels, keys and skips as the main-thread loader', async () => {
  await compare({ imshape: [32, 32], num_channels: 3, single_channel: true, batch_size: 13 }, true);
});

test('grey, Sobel, flips and brightness only: the same pixels as the main-thread loader', async () => {
  await compare(
    { imshape: [20, 24], num_channels: 1, sobel: true, norm: 127.5 },
    { left_right_flip: true, max_brightness_delta: 0.3, zoom_scale: 0.2 },
  );
});

test('without augmentation: the same pixels as the main-thread loader', async () => {
  await compare({ imshape: [64, 64], num_channels: 3, single_channel: true }, false);
});
