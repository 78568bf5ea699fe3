import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { augplot } from '../../ml/data/augplot.ts';
import type { Image } from '../../ml/data/image.ts';
import { Rng } from '../../ml/rng.ts';

const ramp = (h: number, w: number): Image => {
  const data = new Float32Array(h * w * 3);
  data.forEach((_, i) => (data[i] = ((i * 7) % 256) / 255));
  return { data, height: h, width: w, channels: 3 };
};

test('augplot is a PNG grid: one row per image, the original first, then perImage augmentations', async () => {
  const images = [ramp(6, 8), ramp(6, 8)];
  const png = await augplot(
    images,
    { left_right_flip: true, up_down_flip: true },
    { rng: Rng.fromSeed(3), perImage: 3, gap: 2 },
  );
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.format, 'raw');
  assert.deepEqual([info.width, info.height, info.channels], [4 * 8 + 3 * 2, 2 * 6 + 2, 3]);
  const cell = (row: number, col: number) => {
    const out: number[] = [];
    for (let y = 0; y < 6; y++)
      for (let x = 0; x < 8; x++)
        for (let k = 0; k < 3; k++) out.push(data[((row * 8 + y) * info.width + col * 10 + x) * 3 + k]!);
    return out;
  };
  const original = Array.from(images[0]!.data, (v) => Math.round(v * 255));
  assert.deepEqual(cell(0, 0), original);
  assert.deepEqual(cell(1, 0), original);
  const augmented = [1, 2, 3].map((col) => cell(0, col));
  assert.ok(
    augmented.every(
      (c) => [...c].sort((a, b) => a - b).join() === [...original].sort((a, b) => a - b).join(),
    ),
    'flips only move pixels',
  );
  assert.ok(
    augmented.some((c) => c.join() !== original.join()),
    'at least one of the three cells is flipped',
  );
  assert.ok(
    images[0]!.data.every((v, i) => v === ramp(6, 8).data[i]),
    'the caller’s images are not modified',
  );
});

test('augplot with augment false repeats the original; no images is an error', async () => {
  const png = await augplot([ramp(4, 4)], false, { rng: Rng.fromSeed(1), perImage: 1, gap: 0 });
  const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const row = (y: number) => Array.from(data.subarray(y * 8 * 3, (y + 1) * 8 * 3));
  for (let y = 0; y < 4; y++) assert.deepEqual(row(y).slice(0, 12), row(y).slice(12));
  await assert.rejects(augplot([], true, { rng: Rng.fromSeed(1) }), /at least one image/);
});
