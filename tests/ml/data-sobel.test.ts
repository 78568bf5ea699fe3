import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sobel } from '../../ml/data/sobel.ts';
import type { Image } from '../../ml/data/image.ts';

function image(h: number, w: number, c: number, f: (y: number, x: number, k: number) => number): Image {
  const data = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) data[(y * w + x) * c + k] = f(y, x, k);
  return { data, height: h, width: w, channels: c };
}

const at = (im: Image, y: number, x: number, k: number) => im.data[(y * im.width + x) * im.channels + k]!;

test('zero input gives 0.5, 0.5, 0 (the shift applies; the third channel is a constant zero)', () => {
  const out = sobel(image(4, 5, 3, () => 0));
  assert.equal(out.channels, 3);
  for (let y = 0; y < 4; y++)
    for (let x = 0; x < 5; x++)
      assert.deepEqual([at(out, y, x, 0), at(out, y, x, 1), at(out, y, x, 2)], [0.5, 0.5, 0]);
});

test('horizontal ramp: dx = (1+2+1)*2a inside, 0 at the reflected left/right edges; dy = 0', () => {
  const a = 0.1;
  const out = sobel(image(4, 6, 1, (_y, x) => a * x));
  for (let y = 0; y < 4; y++) {
    for (let x = 0; x < 6; x++) {
      // reflect padding makes column -1 equal column 1 (and column 6 equal column 4), so the edge difference is 0
      const dx = x === 0 || x === 5 ? 0 : 8 * a;
      assert.ok(Math.abs(at(out, y, x, 1) - (0.5 * dx + 0.5)) < 1e-6, `dx at ${y},${x}: ${at(out, y, x, 1)}`);
      assert.ok(Math.abs(at(out, y, x, 0) - 0.5) < 1e-6, `dy at ${y},${x}`);
    }
  }
});

test('vertical ramp goes to channel 0 with the sign of bottom minus top, and channels are averaged', () => {
  // channel values a*y, 3a*y and 2a*y average to 2a*y
  const a = 0.05;
  const out = sobel(image(5, 3, 3, (y, _x, k) => [1, 3, 2][k]! * a * y));
  for (let y = 1; y < 4; y++) {
    for (let x = 0; x < 3; x++) {
      assert.ok(
        Math.abs(at(out, y, x, 0) - (0.5 * 8 * 2 * a + 0.5)) < 1e-6,
        `dy at ${y},${x}: ${at(out, y, x, 0)}`,
      );
      assert.ok(Math.abs(at(out, y, x, 1) - 0.5) < 1e-6);
    }
  }
});

test('a single bright pixel: the response is the kernel itself around it', () => {
  const out = sobel(image(5, 5, 1, (y, x) => (y === 2 && x === 2 ? 1 : 0)));
  // out(y,x) = sum_ij k[i][j] * in(y+i-1, x+j-1), so the pixel at (2,2) is seen through k[2-y+1][2-x+1]
  const dyKernel = [
    [-1, -2, -1],
    [0, 0, 0],
    [1, 2, 1],
  ];
  for (let y = 1; y <= 3; y++) {
    for (let x = 1; x <= 3; x++) {
      const expected = 0.5 * dyKernel[2 - y + 1]![2 - x + 1]! + 0.5;
      assert.ok(Math.abs(at(out, y, x, 0) - expected) < 1e-6, `dy at ${y},${x}`);
    }
  }
});
