import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addBrightness,
  augmentImage,
  clampUnit,
  cropAndResize,
  flipLeftRight,
  flipUpDown,
  randomZoom,
  rotate90,
  scaleSaturation,
  shiftHue,
} from '../../ml/data/augment.ts';
import type { Image } from '../../ml/data/image.ts';
import { resolveAugment, type AugmentOption } from '../../ml/data/options.ts';
import { Rng } from '../../ml/rng.ts';

function image(h: number, w: number, c: number, f: (y: number, x: number, k: number) => number): Image {
  const data = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) data[(y * w + x) * c + k] = f(y, x, k);
  return { data, height: h, width: w, channels: c };
}
const copy = (im: Image): Image => ({ ...im, data: im.data.slice() });
const textured = (h = 6, w = 6, c = 3) =>
  image(h, w, c, (y, x, k) => 0.3 + 0.4 * (((y * 7 + x * 3 + k * 5) % 11) / 10));
const augment = (im: Image, option: AugmentOption, seed: number) =>
  augmentImage(copy(im), resolveAugment(option)!, Rng.fromSeed(seed));
const seeds = Array.from({ length: 40 }, (_, i) => i + 1);
const close = (a: number, b: number, tol = 1e-5) => Math.abs(a - b) <= tol;

test('brightness adds one delta in [-d, d] to every pixel, so the mean moves by exactly delta', () => {
  const src = textured();
  const deltas = seeds.map((seed) => {
    const out = augment(src, { max_brightness_delta: 0.2 }, seed);
    const delta = out.data[0]! - src.data[0]!;
    out.data.forEach((v, i) =>
      assert.ok(close(v - src.data[i]!, delta), `pixel ${i} moved by a different amount`),
    );
    assert.ok(Math.abs(delta) <= 0.2 + 1e-6);
    return delta;
  });
  assert.ok(deltas.some((d) => d > 0.05) && deltas.some((d) => d < -0.05), 'deltas spread both ways');
});

test('contrast scales deviations from each channel mean by one factor in [min, max) and keeps the means', () => {
  const src = textured();
  const mean = (im: Image, k: number) =>
    im.data.filter((_, i) => i % 3 === k).reduce((a, b) => a + b, 0) / 36;
  const factors = seeds.map((seed) => {
    const out = augment(src, { contrast_min: 0.5, contrast_max: 1.5 }, seed);
    const f = (out.data[0]! - mean(src, 0)) / (src.data[0]! - mean(src, 0));
    for (let k = 0; k < 3; k++) assert.ok(close(mean(out, k), mean(src, k)), `channel ${k} mean kept`);
    out.data.forEach((v, i) => assert.ok(close(v - mean(src, i % 3), f * (src.data[i]! - mean(src, i % 3)))));
    assert.ok(f >= 0.5 - 1e-4 && f < 1.5 + 1e-4, `factor ${f}`);
    return f;
  });
  assert.ok(Math.min(...factors) < 0.8 && Math.max(...factors) > 1.2);
  assert.deepEqual(
    augment(src, { contrast_min: 0, contrast_max: 1.4 }, 1).data,
    src.data,
    'contrast_min 0 disables it',
  );
});

test('hue shifts around the colour circle, wrapping: red +1/3 is green, +2/3 is blue, -1/6 is magenta', () => {
  const red = () => image(1, 1, 3, (_y, _x, k) => [1, 0, 0][k]!);
  const shifted = (delta: number) => {
    const im = red();
    shiftHue(im, delta);
    return Array.from(im.data, (v) => Math.round(v * 1e6) / 1e6);
  };
  assert.deepEqual(shifted(1 / 3), [0, 1, 0]);
  assert.deepEqual(shifted(2 / 3), [0, 0, 1]);
  assert.deepEqual(shifted(-1 / 6), [1, 0, 1]);
  assert.deepEqual(shifted(1 / 12), [1, 0.5, 0]); // 30 degrees: orange
  const grey = image(2, 2, 3, () => 0.4);
  assert.deepEqual(augment(grey, { max_hue_delta: 0.1 }, 3).data, grey.data, 'grey has no hue to shift');
  assert.throws(
    () => augment(textured(4, 4, 1), { max_hue_delta: 0.1 }, 1),
    /max_hue_delta needs 3-channel images/,
  );
});

test('saturation multiplies S in HSV and clips it to [0, 1]', () => {
  const pink = () => image(1, 1, 3, (_y, _x, k) => [1, 0.5, 0.5][k]!); // h 0, s 0.5, v 1
  const scaled = (f: number) => {
    const im = pink();
    scaleSaturation(im, f);
    return Array.from(im.data, (v) => Math.round(v * 1e6) / 1e6);
  };
  assert.deepEqual(scaled(0.5), [1, 0.75, 0.75]);
  assert.deepEqual(scaled(0), [1, 1, 1]);
  assert.deepEqual(scaled(3), [1, 0, 0]);
});

test('flips are exact mirrors, each with probability about 1/2, not gated by select_prob', () => {
  const src = textured(4, 5, 3);
  const at = (im: Image, y: number, x: number, k: number) => im.data[(y * im.width + x) * 3 + k]!;
  for (const [key, mirror] of [
    ['left_right_flip', (y: number, x: number) => [y, 4 - x]],
    ['up_down_flip', (y: number, x: number) => [3 - y, x]],
  ] as const) {
    let flipped = 0;
    for (const seed of seeds) {
      const out = augment(src, { [key]: true, select_prob: 0 }, seed);
      if (out.data.every((v, i) => v === src.data[i])) continue;
      flipped++;
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 5; x++)
          for (let k = 0; k < 3; k++) {
            const [sy, sx] = mirror(y, x);
            assert.equal(at(out, y, x, k), at(src, sy!, sx!, k));
          }
    }
    assert.ok(flipped > 8 && flipped < 32, `${key}: flipped ${flipped} of ${seeds.length}`);
  }
});

test('flips and brightness, by hand in the reference order (flip, flip, then the clamp with the delta) give the same values', () => {
  // Odd width: the middle column mirrors onto itself. Values near 0 and 1 so the clamp matters.
  const src = image(5, 7, 3, (y, x, k) => ((y * 7 + x * 3 + k * 5) % 11) / 10);
  let mirrored = 0;
  for (const seed of seeds) {
    const out = augment(src, { left_right_flip: true, up_down_flip: true, max_brightness_delta: 0.5 }, seed);
    const rng = Rng.fromSeed(seed);
    rng.next();
    const delta = -0.5 + rng.next();
    let expected = copy(src);
    if (rng.next() < 0.5) {
      expected = flipLeftRight(expected);
      mirrored++;
    }
    if (rng.next() < 0.5) expected = flipUpDown(expected);
    clampUnit(expected, delta);
    assert.deepEqual(out.data, expected.data, `seed ${seed}`);
  }
  assert.ok(mirrored > 8 && mirrored < 32, `mirrored ${mirrored} of ${seeds.length}`);
});

test('rot90 turns counter-clockwise; k is uniform over 0..3 on square images and {0, 2} otherwise', () => {
  const m = image(2, 3, 1, (y, x) => 1 + y * 3 + x); // [[1,2,3],[4,5,6]]
  const turned = (k: number) => {
    const r = rotate90(copy(m), k);
    return { shape: [r.height, r.width], data: Array.from(r.data) };
  };
  assert.deepEqual(turned(1), { shape: [3, 2], data: [3, 6, 2, 5, 1, 4] });
  assert.deepEqual(turned(2), { shape: [2, 3], data: [6, 5, 4, 3, 2, 1] });
  assert.deepEqual(turned(3), { shape: [3, 2], data: [4, 1, 5, 2, 6, 3] });

  const square = textured(4, 4, 1);
  const seen = new Set<number>();
  for (const seed of seeds) {
    const out = augment(square, { rot90: true }, seed);
    const k = [0, 1, 2, 3].find((k) => rotate90(copy(square), k).data.every((v, i) => v === out.data[i]));
    assert.notEqual(k, undefined, 'output is one of the four rotations');
    seen.add(k!);
  }
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3]);
  for (const seed of seeds)
    assert.deepEqual(
      [augment(m, { rot90: true }, seed).height, augment(m, { rot90: true }, seed).width],
      [2, 3],
    );
});

test('crop-and-resize: full box without padding is the identity; big pads leave a black border', () => {
  const src = textured(5, 4, 3);
  const same = cropAndResize(src, { top: 0, bottom: 0, left: 0, right: 0 }, [0, 0, 1, 1]);
  same.data.forEach((v, i) => assert.ok(close(v, src.data[i]!)));
  const ones = image(4, 4, 1, () => 1);
  const out = cropAndResize(ones, { top: 4, bottom: 4, left: 4, right: 4 }, [0, 0, 1, 1]);
  // 12x12 padded, ones in rows/cols 4..7; outputs sample 0, 11/3, 22/3, 11: weights 0, 2/3, 2/3, 0 per axis
  const w = [0, 2 / 3, 2 / 3, 0];
  for (let y = 0; y < 4; y++)
    for (let x = 0; x < 4; x++) assert.ok(close(out.data[y * 4 + x]!, w[y]! * w[x]!), `${y},${x}`);
});

test('random zoom keeps the shape and, with big pads, darkens a white image at the border', () => {
  const white = image(8, 8, 1, () => 1);
  let darkened = 0;
  for (const seed of seeds) {
    const out = augment(white, { zoom_scale: 0.5 }, seed);
    assert.deepEqual([out.height, out.width, out.data.length], [8, 8, 64]);
    assert.ok(out.data.every((v) => v >= 0 && v <= 1));
    if (out.data[0]! < 0.99) darkened++;
  }
  assert.ok(darkened > 0, 'some zooms show the black padding');
});

test('select_prob 0 disables every gated step; each gate passes with probability select_prob', () => {
  const src = textured();
  const gated = {
    max_brightness_delta: 0.2,
    contrast_min: 0.5,
    contrast_max: 1.5,
    max_hue_delta: 0.1,
    max_saturation_delta: 0.5,
    rot90: true,
    zoom_scale: 0.3,
  };
  for (const seed of seeds) assert.deepEqual(augment(src, { ...gated, select_prob: 0 }, seed).data, src.data);
  const applied = Array.from({ length: 400 }, (_, seed) =>
    augment(src, { max_brightness_delta: 0.2, select_prob: 0.3 }, seed),
  ).filter((out) => out.data[0] !== src.data[0]).length;
  assert.ok(applied > 80 && applied < 160, `applied ${applied} of 400 at select_prob 0.3`);
});

test('augment: true runs the default steps, clamps to [0, 1], and is reproducible from the seed', () => {
  const src = textured(8, 8, 3);
  const a = augment(src, true, 42);
  const b = augment(src, true, 42);
  assert.deepEqual(a.data, b.data);
  assert.ok(a.data.every((v) => v >= 0 && v <= 1));
  const distinct = new Set(seeds.map((seed) => augment(src, true, seed).data.join(',')));
  assert.ok(distinct.size > 30, 'different seeds give different augmentations');
  const bright = augment(
    image(4, 4, 3, () => 0.9),
    { max_brightness_delta: 5 },
    2,
  );
  assert.ok(
    bright.data.every((v) => v >= 0 && v <= 1),
    'clamped',
  );
});

test('brightness happens before zoom: the zoom border stays black (steps run in the reference order)', () => {
  const src = image(8, 8, 1, () => 0.5);
  for (const seed of seeds.slice(0, 10)) {
    const out = augment(src, { max_brightness_delta: 0.3, zoom_scale: 0.5 }, seed);
    // the same draws, applied by hand in the reference order: gate, delta, gate, then the zoom's own draws
    const rng = Rng.fromSeed(seed);
    rng.next();
    const delta = -0.3 + 0.6 * rng.next();
    rng.next();
    const expected = copy(src);
    addBrightness(expected, delta);
    const zoomed = randomZoom(expected, 0.5, rng);
    clampUnit(zoomed);
    out.data.forEach((v, i) =>
      assert.ok(close(v, zoomed.data[i]!), `seed ${seed} pixel ${i}: ${v} vs ${zoomed.data[i]}`),
    );
  }
});
