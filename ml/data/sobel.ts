// Sobel filter exactly as the original `_sobelize`, including its [-1.5, 2.5] output range.
import { newImage, type Image } from './image.ts';

/** Index into [0, n) with 1-px reflect padding (-1 -> 1, n -> n-2), like tf.pad(mode="REFLECT"). */
function reflect(i: number, n: number): number {
  if (i < 0) return -i;
  if (i >= n) return 2 * n - 2 - i;
  return i;
}

/**
 * [H,W,C] -> [H,W,3]: channel 0 = 0.5*dy+0.5, channel 1 = 0.5*dx+0.5, channel 2 = 0, where dy and dx are the
 * unnormalised 3x3 Sobel responses (cross-correlation with dy = [[-1,-2,-1],[0,0,0],[1,2,1]] and its transpose
 * pattern dx) averaged over the input channels. Filtering is linear, so this filters the channel mean.
 */
export function sobel(image: Image): Image {
  const { data, height: h, width: w, channels: c } = image;
  if (h < 2 || w < 2) throw new Error(`sobel: image must be at least 2x2 for reflect padding, got ${h}x${w}`);
  const mean = new Float32Array(h * w);
  for (let p = 0; p < h * w; p++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += data[p * c + k]!;
    mean[p] = s / c;
  }
  const out = newImage(h, w, 3);
  const o = out.data;
  for (let y = 0; y < h; y++) {
    const up = reflect(y - 1, h) * w;
    const mid = y * w;
    const down = reflect(y + 1, h) * w;
    for (let x = 0; x < w; x++) {
      const l = reflect(x - 1, w);
      const r = reflect(x + 1, w);
      const dy =
        mean[down + l]! +
        2 * mean[down + x]! +
        mean[down + r]! -
        (mean[up + l]! + 2 * mean[up + x]! + mean[up + r]!);
      const dx =
        mean[up + r]! +
        2 * mean[mid + r]! +
        mean[down + r]! -
        (mean[up + l]! + 2 * mean[mid + l]! + mean[down + l]!);
      const at = (y * w + x) * 3;
      o[at] = 0.5 * dy + 0.5;
      o[at + 1] = 0.5 * dx + 0.5;
      // o[at + 2] stays 0: the original's third channel is a constant zero, not shifted.
    }
  }
  return out;
}
