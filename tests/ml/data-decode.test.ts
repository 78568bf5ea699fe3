import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { decodeImage, DecodeError, type DecodeOptions } from '../../ml/data/decode.ts';
import { decodeSimplePng } from '../../ml/data/png.ts';
import { venvPython } from '../helpers/paths.ts';
import { encodeTiff } from './data-tiff.ts';

const opts = (o: Partial<DecodeOptions> & { imshape: [number, number] }): DecodeOptions => ({
  num_channels: 3,
  norm: 255,
  single_channel: false,
  ...o,
});

/** Pixel values that differ per position and channel, so transposes and channel mix-ups show. */
function pattern(h: number, w: number, c: number, max: number): number[] {
  return Array.from({ length: h * w * c }, (_, i) => (i * 37 + 11) % (max + 1));
}

const raw = (data: Uint8Array | Uint16Array, w: number, h: number, channels: 1 | 2 | 3 | 4) =>
  sharp(data, { raw: { width: w, height: h, channels } });

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

test('8-bit RGB PNG at its own size comes back exactly, divided by norm (the original ignored norm for PNG)', async () => {
  const px = pattern(5, 7, 3, 255);
  const png = await raw(Uint8Array.from(px), 7, 5, 3).png().toBuffer();
  const im = await decodeImage(png, 'a.png', opts({ imshape: [5, 7], norm: 100 }));
  assert.deepEqual([im.height, im.width, im.channels], [5, 7, 3]);
  assertClose(
    im.data,
    px.map((v) => v / 100),
    1e-6,
    'pixels',
  );
});

test('RGBA becomes RGB by dropping alpha', async () => {
  const px = pattern(4, 4, 4, 255);
  const png = await raw(Uint8Array.from(px), 4, 4, 4).png().toBuffer();
  const im = await decodeImage(png, 'rgba.png', opts({ imshape: [4, 4] }));
  const rgb = px.filter((_, i) => i % 4 !== 3).map((v) => v / 255);
  assertClose(im.data, rgb, 1e-6, 'rgb');
});

test('grey PNG: repeated with single_channel, a clear error without it', async () => {
  const px = pattern(3, 3, 1, 255);
  const png = await raw(Uint8Array.from(px), 3, 3, 1).toColourspace('b-w').png().toBuffer();
  const im = await decodeImage(png, 'g.png', opts({ imshape: [3, 3], single_channel: true }));
  assertClose(
    im.data,
    px.flatMap((v) => [v / 255, v / 255, v / 255]),
    1e-6,
    'repeated',
  );
  await assert.rejects(
    decodeImage(png, 'g.png', opts({ imshape: [3, 3] })),
    (err: Error) =>
      err instanceof DecodeError &&
      /g\.png: image has 1 channel\(s\) but num_channels is 3; set single_channel: true/.test(err.message),
  );
});

test('16-bit PNG keeps its 16-bit values (RGB and grey)', async () => {
  const px = pattern(4, 5, 3, 65535).map((v) => (v * 1771) % 65536);
  const png = await raw(Uint16Array.from(px), 5, 4, 3).toColourspace('rgb16').png().toBuffer();
  assert.equal((await sharp(png).metadata()).depth, 'ushort', 'fixture really is 16-bit');
  const im = await decodeImage(png, 'a16.png', opts({ imshape: [4, 5], norm: 65535 }));
  assertClose(
    im.data,
    px.map((v) => v / 65535),
    1e-6,
    'rgb16',
  );
  const grey = pattern(4, 5, 1, 65535).map((v) => (v * 1771) % 65536);
  const gpng = await raw(Uint16Array.from(grey), 5, 4, 1).toColourspace('grey16').png().toBuffer();
  const g = await decodeImage(gpng, 'g16.png', opts({ imshape: [4, 5], num_channels: 1, norm: 65535 }));
  assertClose(
    g.data,
    grey.map((v) => v / 65535),
    1e-6,
    'grey16',
  );
});

/** A PNG whose row y uses filter y % 5 (None, Sub, Up, Average, Paeth), built by hand since encoders pick filters. */
function pngWithEveryFilter(px: Uint8Array, w: number, h: number, bpp: number): Uint8Array {
  const stride = w * bpp;
  const at = (y: number, i: number) => (y < 0 || i < 0 ? 0 : px[y * stride + i]!);
  const filtered = new Uint8Array(h * (stride + 1));
  for (let y = 0; y < h; y++) {
    const f = y % 5;
    filtered[y * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const x = at(y, i),
        a = at(y, i - bpp),
        b = at(y - 1, i),
        c = at(y - 1, i - bpp);
      const p = a + b - c;
      const pr =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const pred = [0, a, b, (a + b) >> 1, pr][f]!;
      filtered[y * (stride + 1) + 1 + i] = (x - pred) & 255;
    }
  }
  const chunk = (type: string, data: Uint8Array) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, bpp === 3 ? 2 : bpp === 4 ? 6 : 0, 0, 0, 0], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(filtered)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

test('the JS PNG decoder undoes every row filter, and agrees with sharp', async () => {
  for (const bpp of [1, 3, 4]) {
    const w = 9,
      h = 10;
    const px = Uint8Array.from({ length: w * h * bpp }, (_, i) => (i * i * 31 + i * 7 + 3) & 255);
    const png = pngWithEveryFilter(px, w, h, bpp);
    const ours = decodeSimplePng(png, 1e9)!;
    assert.deepEqual(Array.from(ours.samples), Array.from(px), `${bpp} byte(s) per pixel`);
    const theirs = await sharp(png)
      .toColourspace(bpp === 1 ? 'b-w' : 'srgb')
      .raw()
      .toBuffer();
    assert.deepEqual(Array.from(theirs), Array.from(px), `sharp reads the ${bpp}-band fixture the same way`);
  }
});

test('grey JPEGs and large grey PNGs (decoded by sharp, not png.ts) stay one channel', async () => {
  const w = 300,
    h = 260; // more pixels than png.ts takes
  const px = Uint8Array.from({ length: w * h }, (_, i) => (i * 13) & 255);
  const png = await raw(px, w, h, 1).toColourspace('b-w').png().toBuffer();
  const big = await decodeImage(png, 'big.png', opts({ imshape: [h, w], num_channels: 1 }));
  assertClose(
    big.data,
    Array.from(px, (v) => v / 255),
    1e-6,
    'big grey png',
  );
  await assert.rejects(
    decodeImage(png, 'big.png', opts({ imshape: [h, w] })),
    /big\.png: image has 1 channel/,
  );
  const jpg = await raw(new Uint8Array(64).fill(90), 8, 8, 1).toColourspace('b-w').jpeg().toBuffer();
  const g = await decodeImage(jpg, 'g.jpg', opts({ imshape: [8, 8], num_channels: 1 }));
  assertClose(g.data, new Array(64).fill(90 / 255), 2 / 255, 'grey jpeg');
  await assert.rejects(decodeImage(jpg, 'g.jpg', opts({ imshape: [8, 8] })), /g\.jpg: image has 1 channel/);
});

test('JPEG decodes close to its source (lossy)', async () => {
  const w = 16,
    h = 16;
  const px = Uint8Array.from({ length: w * h * 3 }, (_, i) => [200, 100, 30][i % 3]!);
  const jpg = await raw(px, w, h, 3).jpeg({ quality: 95 }).toBuffer();
  const im = await decodeImage(jpg, 'a.jpg', opts({ imshape: [16, 16] }));
  assertClose(
    im.data,
    Array.from(px, (v) => v / 255),
    4 / 255,
    'jpeg',
  );
});

/** A smooth colour field (gradients), so resizing kernels agree closely and differences show real mistakes. */
async function smoothJpeg(h: number, w: number, channels: 1 | 3): Promise<Buffer> {
  const px = Uint8Array.from({ length: h * w * channels }, (_, i) => {
    const p = Math.floor(i / channels);
    const [y, x, c] = [Math.floor(p / w), p % w, i % channels];
    return Math.round(127 + 100 * Math.sin((x + 40 * c) / 37) * Math.cos(y / 53));
  });
  let image = raw(px, w, h, channels);
  if (channels === 1) image = image.toColourspace('b-w');
  return image.jpeg({ quality: 95 }).toBuffer();
}

const meanAbsDifference = (a: Float32Array, b: Float32Array) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]!), 0) / a.length;

test('jpeg_shrink_on_load: a larger JPEG shrinks in libvips to nearly the exact resize; others are untouched', async () => {
  for (const [h, w, channels, target] of [
    [600, 520, 3, [64, 48]],
    [512, 512, 1, [256, 256]],
  ] as const) {
    const jpg = await smoothJpeg(h, w, channels);
    const exact = await decodeImage(jpg, 'big.jpg', opts({ imshape: [...target], num_channels: channels }));
    const shrunk = await decodeImage(jpg, 'big.jpg', opts({ imshape: [...target], num_channels: channels, jpeg_shrink_on_load: true }));
    assert.deepEqual([shrunk.height, shrunk.width, shrunk.channels], [target[0], target[1], channels]);
    const difference = meanAbsDifference(shrunk.data, exact.data);
    assert.ok(difference > 0 && difference < 0.01, `${h}x${w} -> ${target}: mean difference ${difference}`);
  }
  // Not larger on both axes: decoded at full size and resized exactly, as without the option.
  const wide = await smoothJpeg(40, 300, 3);
  const exact = await decodeImage(wide, 'wide.jpg', opts({ imshape: [64, 64] }));
  const withOption = await decodeImage(wide, 'wide.jpg', opts({ imshape: [64, 64], jpeg_shrink_on_load: true }));
  assert.deepEqual(withOption.data, exact.data);
  // PNGs ignore it.
  const png = await raw(Uint8Array.from(pattern(300, 300, 3, 255)), 300, 300, 3).png().toBuffer();
  assert.deepEqual(
    (await decodeImage(png, 'a.png', opts({ imshape: [32, 32], jpeg_shrink_on_load: true }))).data,
    (await decodeImage(png, 'a.png', opts({ imshape: [32, 32] }))).data,
  );
});

test('TIFF: 8-bit RGB from sharp, not transposed (the original GDAL path was)', async () => {
  const px = pattern(3, 5, 3, 255);
  const tif = await raw(Uint8Array.from(px), 5, 3, 3).tiff({ compression: 'lzw' }).toBuffer(); // sharp's default is JPEG
  const im = await decodeImage(tif, 'a.tif', opts({ imshape: [3, 5] }));
  assertClose(
    im.data,
    px.map((v) => v / 255),
    1e-6,
    'tiff',
  );
});

test('TIFF: 16-bit RGB from sharp keeps its 16-bit values', async () => {
  const px = pattern(3, 4, 3, 65535).map((v) => (v * 1771) % 65536);
  const tif = await raw(Uint16Array.from(px), 4, 3, 3)
    .toColourspace('rgb16')
    .tiff({ compression: 'lzw' })
    .toBuffer();
  assert.equal((await sharp(tif).metadata()).depth, 'ushort', 'fixture really is 16-bit');
  const im = await decodeImage(tif, 'a16.tif', opts({ imshape: [3, 4], norm: 65535 }));
  assertClose(
    im.data,
    px.map((v) => v / 65535),
    1e-6,
    'tiff16',
  );
});

test('TIFF: 16-bit and 6-band images keep depth and bands; extra bands are cut to num_channels', async () => {
  const six8 = pattern(3, 4, 6, 255);
  const im8 = await decodeImage(
    encodeTiff(Uint8Array.from(six8), 4, 3, 6),
    'six.tif',
    opts({ imshape: [3, 4], num_channels: 6 }),
  );
  assertClose(
    im8.data,
    six8.map((v) => v / 255),
    1e-6,
    '6-band 8-bit',
  );
  const six16 = pattern(3, 4, 6, 65535).map((v) => (v * 977) % 65536);
  const t16 = encodeTiff(Uint16Array.from(six16), 4, 3, 6);
  const im16 = await decodeImage(t16, 'six16.tif', opts({ imshape: [3, 4], num_channels: 4, norm: 65535 }));
  const firstFour = six16.filter((_, i) => i % 6 < 4).map((v) => v / 65535);
  assertClose(im16.data, firstFour, 1e-6, '6-band 16-bit cut to 4');
});

test('resize is tf.image.resize bilinear: hand-computed 1x2 -> 1x4', async () => {
  const png = await raw(Uint8Array.from([0, 0, 0, 200, 100, 40]), 2, 1, 3)
    .png()
    .toBuffer();
  const im = await decodeImage(png, 'r.png', opts({ imshape: [1, 4], norm: 1 }));
  // half-pixel centres: output x maps to (x + 0.5) * 0.5 - 0.5 = -0.25, 0.25, 0.75, 1.25 (clamped at the edges)
  const expected = [0, 0.25, 0.75, 1].flatMap((f) => [200 * f, 100 * f, 40 * f]);
  assertClose(im.data, expected, 1e-4, 'resized');
});

test(
  'resize matches TensorFlow itself (upsample and non-integer downsample)',
  { skip: !existsSync(venvPython) && 'no .tools/venv' },
  async () => {
    const w = 13,
      h = 9;
    const px = pattern(h, w, 3, 255);
    const png = await raw(Uint8Array.from(px), w, h, 3).png().toBuffer();
    const shapes: Array<[number, number]> = [
      [20, 31],
      [4, 6],
    ];
    const script = `
import sys, json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, tensorflow as tf
a = np.array(json.loads(sys.stdin.read()), dtype=np.float32).reshape(${h}, ${w}, 3)
print(json.dumps([tf.image.resize(a, s, method="bilinear").numpy().ravel().tolist() for s in ${JSON.stringify(shapes)}]))`;
    const res = spawnSync(venvPython, ['-c', script], { input: JSON.stringify(px), encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    const expected = JSON.parse(res.stdout.trim().split('\n').pop()!) as number[][];
    for (const [i, shape] of shapes.entries()) {
      const im = await decodeImage(png, 'r.png', opts({ imshape: shape, norm: 1 }));
      assertClose(im.data, expected[i]!, 1e-3, `resize to ${shape}`);
    }
  },
);

test('corrupt or truncated bytes give a DecodeError naming the key', async () => {
  await assert.rejects(
    decodeImage(new Uint8Array([1, 2, 3, 4]), 'junk.png', opts({ imshape: [2, 2] })),
    /junk\.png: cannot decode image/,
  );
  const png = await raw(Uint8Array.from(pattern(8, 8, 3, 255)), 8, 8, 3)
    .png()
    .toBuffer();
  await assert.rejects(
    decodeImage(png.subarray(0, png.length - 30), 'cut.png', opts({ imshape: [2, 2] })),
    /cut\.png: cannot decode image/,
  );
});
