import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUGMENT_DEFAULTS, AUGMENT_KEYS, parseInputOptions, resolveAugment } from '../../ml/data/options.ts';

test('input defaults are the reference ones', () => {
  const o = parseInputOptions({});
  assert.deepEqual(o.imshape, [256, 256]);
  assert.equal(o.num_channels, 3);
  assert.equal(o.norm, 255);
  assert.equal(o.batch_size, 256);
  assert.equal(o.num_parallel_calls, null);
  assert.equal(o.shuffle, false);
  assert.equal(o.sobel, false);
  assert.equal(o.single_channel, false);
});

test('a bad input field is named in the error', () => {
  assert.throws(
    () => parseInputOptions({ imshape: [64] as unknown as [number, number] }),
    /input\.imshape: imshape must be \[height, width\]/,
  );
  assert.throws(() => parseInputOptions({ norm: -1 }), /input\.norm/);
  assert.throws(() => parseInputOptions({ batchsize: 3 } as never), /batchsize/);
});

test('augment true gives the reference defaults, false and {} give none', () => {
  assert.deepEqual(resolveAugment(true), {
    max_brightness_delta: 0.2,
    contrast_min: 0.4,
    contrast_max: 1.4,
    max_hue_delta: 0.1,
    max_saturation_delta: 0.5,
    left_right_flip: true,
    up_down_flip: true,
    rot90: true,
    zoom_scale: 0.3,
    select_prob: 0.5,
  });
  assert.equal(resolveAugment(false), null);
  assert.equal(resolveAugment({}), null);
  assert.equal(resolveAugment(undefined), null);
});

test('a partial augment dict disables every missing step and defaults select_prob to 1.0', () => {
  const p = resolveAugment({ max_brightness_delta: 0.3 })!;
  assert.equal(p.max_brightness_delta, 0.3);
  assert.equal(p.select_prob, 1.0);
  for (const key of AUGMENT_KEYS) {
    if (key === 'max_brightness_delta' || key === 'select_prob') continue;
    assert.ok(!p[key], `${key} should be off, got ${p[key]}`);
    assert.ok(AUGMENT_DEFAULTS[key], `${key} is on in the defaults, so this check means something`);
  }
});

test('an unknown augment key is an error naming it and the allowed keys', () => {
  assert.throws(
    () => resolveAugment({ max_brightness: 0.2 } as never),
    (err: Error) =>
      err.message.includes("'max_brightness'") &&
      err.message.includes('allowed keys: max_brightness_delta, contrast_min'),
  );
  assert.throws(() => resolveAugment('yes' as never), /augment must be true, false or an object/);
});
