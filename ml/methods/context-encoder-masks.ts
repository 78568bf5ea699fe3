// The Context Encoder's masks: random training rectangles, the fixed test rectangle, and the loss weight maps.
import type { Rng } from '../rng.ts';

/** A rectangle [y, y + h) x [x, x + w). */
export interface MaskBox {
  y: number;
  x: number;
  h: number;
  w: number;
}

/** n training masks: floor(H/2) x floor(W/2), top-left uniform in [0, floor(H/2)) x [0, floor(W/2)). */
export function randomMaskBoxes(rng: Rng, n: number, height: number, width: number): MaskBox[] {
  const h = Math.floor(height / 2);
  const w = Math.floor(width / 2);
  if (h < 1 || w < 1)
    throw new Error(`context encoder: images must be at least 2x2 for a mask, got ${height}x${width}`);
  return Array.from({ length: n }, () => ({ y: rng.integer(0, h), x: rng.integer(0, w), h, w }));
}

/** The fixed test mask: rows [floor(H/4), floor(3H/4)) and columns [floor(W/4), floor(3W/4)). */
export function centerMaskBox(height: number, width: number): MaskBox {
  const y = Math.floor(0.25 * height);
  const x = Math.floor(0.25 * width);
  return { y, x, h: Math.floor(0.75 * height) - y, w: Math.floor(0.75 * width) - x };
}

export function defaultBorderPx(box: Pick<MaskBox, 'h' | 'w'>): number {
  return Math.max(1, Math.round(0.07 * Math.min(box.h, box.w)));
}

/**
 * Per image, [H, W] maps: `mask` (1 inside the box) and `weights`: 0 outside, `borderWeight` on the box's outermost
 * `borderPx` rows and columns (masked pixels fewer than borderPx pixels in from the edge), 1 elsewhere inside.
 */
export function maskMaps(
  boxes: MaskBox[],
  height: number,
  width: number,
  borderWeight: number,
  borderPx: number,
) {
  const plane = height * width;
  const mask = new Float32Array(boxes.length * plane);
  const weights = new Float32Array(boxes.length * plane);
  boxes.forEach((box, b) => {
    for (let y = box.y; y < box.y + box.h; y++) {
      for (let x = box.x; x < box.x + box.w; x++) {
        const depth = Math.min(y - box.y, box.y + box.h - 1 - y, x - box.x, box.x + box.w - 1 - x); // 0 on the edge
        const at = b * plane + y * width + x;
        mask[at] = 1;
        weights[at] = depth < borderPx ? borderWeight : 1;
      }
    }
  });
  return { mask, weights };
}
