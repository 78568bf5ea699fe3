// A PNG contact sheet of augmentations (the original's viz.augplot, without matplotlib): one row per image, the
// original in the first column and `perImage` independent augmentations after it.
import sharp from 'sharp';
import { augmentImage, type AugmentRandom } from './augment.ts';
import type { Image } from './image.ts';
import { resolveAugment, type AugmentOption } from './options.ts';

export interface AugplotOptions {
  rng: AugmentRandom;
  /** Augmentations per row after the original; 5 as in the original's multi-image grid. */
  perImage?: number;
  /** Pixels of black between cells. */
  gap?: number;
}

/**
 * The original's view of one image: a side x side grid, the original top left, then side*side - 1 augmentations
 * filled row by row (4 x 4 by default).
 */
export async function augplotOne(
  image: Image,
  params: AugmentOption,
  options: { rng: AugmentRandom; side?: number; gap?: number },
): Promise<Uint8Array> {
  const side = options.side ?? 4;
  if (!Number.isInteger(side) || side < 1) throw new Error(`augplot: side must be a positive integer, got ${side}`);
  const augment = resolveAugment(params);
  const gap = options.gap ?? 2;
  const sheetW = side * image.width + (side - 1) * gap;
  const sheetH = side * image.height + (side - 1) * gap;
  const sheet = new Uint8Array(sheetW * sheetH * 3);
  for (let cell = 0; cell < side * side; cell++) {
    const copy: Image = { ...image, data: image.data.slice() };
    const shown = cell === 0 || !augment ? copy : augmentImage(copy, augment, options.rng);
    const row = Math.floor(cell / side);
    const col = cell % side;
    paste(sheet, sheetW, shown, row * (image.height + gap), col * (image.width + gap));
  }
  return encodeSheet(sheet, sheetW, sheetH);
}

/** Renders [0,1] float images (1, 3 or more channels; extra channels beyond RGB are not shown) as PNG bytes. */
export async function augplot(
  images: readonly Image[],
  params: AugmentOption,
  options: AugplotOptions,
): Promise<Uint8Array> {
  if (images.length === 0) throw new Error('augplot: pass at least one image');
  const augment = resolveAugment(params);
  const perImage = options.perImage ?? 5;
  if (!Number.isInteger(perImage) || perImage < 0)
    throw new Error(`augplot: perImage must be an integer >= 0, got ${perImage}`);
  const gap = options.gap ?? 2;
  const cellH = Math.max(...images.map((im) => im.height));
  const cellW = Math.max(...images.map((im) => im.width));
  const cols = perImage + 1;
  const sheetW = cols * cellW + (cols - 1) * gap;
  const sheetH = images.length * cellH + (images.length - 1) * gap;
  const sheet = new Uint8Array(sheetW * sheetH * 3);
  images.forEach((original, row) => {
    for (let col = 0; col < cols; col++) {
      const copy: Image = { ...original, data: original.data.slice() };
      const shown = col === 0 || !augment ? copy : augmentImage(copy, augment, options.rng);
      paste(sheet, sheetW, shown, row * (cellH + gap), col * (cellW + gap));
    }
  });
  return encodeSheet(sheet, sheetW, sheetH);
}

async function encodeSheet(sheet: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  const png = await sharp(sheet, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

function paste(sheet: Uint8Array, sheetW: number, im: Image, top: number, left: number): void {
  const { data, height, width, channels: c } = im;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (y * width + x) * c;
      const to = ((top + y) * sheetW + left + x) * 3;
      for (let k = 0; k < 3; k++) {
        const v = data[from + (c >= 3 ? k : 0)]!;
        sheet[to + k] = Math.round(255 * (v < 0 ? 0 : v > 1 ? 1 : v));
      }
    }
  }
}
