// Every path of resizeBilinear (enlarging, shrinking, grey repeated into RGB, floats, bands dropped, written in place)
// against tf.image.resize's bilinear formula written out plainly: half-pixel centres, clamped at the edges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resizeBilinear } from '../../ml/data/resize.ts';

function reference(src: ArrayLike<number>, inH: number, inW: number, bands: number, outH: number, outW: number, channels: number, scale: number): number[] {
  const out: number[] = [];
  const at = (o: number, inSize: number, outSize: number) => {
    const x = Math.max(0, (o + 0.5) * (inSize / outSize) - 0.5);
    const lo = Math.min(Math.floor(x), inSize - 1);
    return { lo, hi: Math.min(lo + 1, inSize - 1), f: x - lo };
  };
  for (let y = 0; y < outH; y++) {
    const r = at(y, inH, outH);
    for (let x = 0; x < outW; x++) {
      const c = at(x, inW, outW);
      for (let k = 0; k < channels; k++) {
        const v = (row: number, col: number) => src[(row * inW + col) * bands + (k % bands)]!;
        const top = v(r.lo, c.lo) * (1 - c.f) + v(r.lo, c.hi) * c.f;
        const bottom = v(r.hi, c.lo) * (1 - c.f) + v(r.hi, c.hi) * c.f;
        out.push((top * (1 - r.f) + bottom * r.f) * scale);
      }
    }
  }
  return out;
}

function noise(n: number, seed: number): Uint8Array {
  let s = seed;
  return Uint8Array.from({ length: n }, () => (s = (s * 1103515245 + 12345) >>> 0) >>> 24);
}

const cases: Array<[string, number, number, number, number, number, number]> = [
  // name, inH, inW, bands, outH, outW, channels
  ['enlarging grey', 7, 5, 1, 16, 11, 1],
  ['enlarging RGB', 5, 9, 3, 12, 7, 3],
  ['enlarging grey into RGB', 6, 6, 1, 13, 13, 3],
  ['shrinking RGB', 17, 19, 3, 8, 6, 3],
  ['halving RGB', 8, 10, 3, 4, 5, 3],
  ['halving RGBA to RGB', 6, 4, 4, 3, 2, 3],
  ['halving grey', 10, 6, 1, 5, 3, 1],
  ['shrinking RGBA to RGB', 9, 9, 4, 4, 5, 3],
  ['wider, not taller', 6, 4, 3, 6, 10, 3],
];

for (const [name, inH, inW, bands, outH, outW, channels] of cases) {
  test(`resize, ${name}: tf.image.resize's bilinear values from bytes and from floats`, () => {
    const bytes = noise(inH * inW * bands, inH * 31 + inW);
    const expected = reference(bytes, inH, inW, bands, outH, outW, channels, 1 / 255);
    for (const src of [bytes, Float32Array.from(bytes)]) {
      const actual = resizeBilinear(src, inH, inW, bands, outH, outW, channels, 1 / 255);
      assert.equal(actual.length, expected.length);
      const worst = Math.max(...Array.from(actual, (v, i) => Math.abs(v - expected[i]!)));
      assert.ok(worst < 1e-6, `${src.constructor.name}: largest difference ${worst}`);
    }
  });
}

test('resize writes into the array it is given', () => {
  const bytes = noise(4 * 4, 3);
  const batch = new Float32Array(2 * 8 * 8).fill(-1);
  const into = batch.subarray(64, 128);
  const result = resizeBilinear(bytes, 4, 4, 1, 8, 8, 1, 1);
  assert.equal(resizeBilinear(bytes, 4, 4, 1, 8, 8, 1, 1, into), into);
  assert.deepEqual(Array.from(into), Array.from(result));
  assert.ok(batch.subarray(0, 64).every((v) => v === -1));
});
