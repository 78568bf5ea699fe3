// Image files the input benchmarks share, cached under a folder: Fashion-MNIST PNGs (28 x 28 grey) and synthetic
// photo-like JPEGs (smooth colour fields plus fine noise, so they carry detail rather than flat colour).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { Rng } from '../../../ml/rng.ts';

export const FASHION_MNIST_TRAIN = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';

export async function fashionMnistPngs(dir: string, count: number, idxFile = FASHION_MNIST_TRAIN): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const names = Array.from({ length: count }, (_, i) => join(dir, `${String(i).padStart(5, '0')}.png`));
  if (names.every((n) => existsSync(n))) return names;
  if (!existsSync(idxFile)) throw new Error(`bench: ${idxFile} not found; pass --fmnist <train-images-idx3-ubyte.gz>`);
  const idx = gunzipSync(readFileSync(idxFile));
  const view = new DataView(idx.buffer, idx.byteOffset, idx.byteLength);
  if (view.getUint32(0) !== 2051) throw new Error(`bench: ${idxFile} is not an idx3 image file`);
  const [n, rows, cols] = [view.getUint32(4), view.getUint32(8), view.getUint32(12)];
  if (count > n) throw new Error(`bench: ${count} images asked for but ${idxFile} has only ${n}`);
  for (let i = 0; i < count; i++) {
    const pixels = idx.subarray(16 + i * rows * cols, 16 + (i + 1) * rows * cols);
    await sharp(pixels, { raw: { width: cols, height: rows, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(names[i]!);
  }
  return names;
}

export async function syntheticJpegs(dir: string, count: number, size: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const names = Array.from({ length: count }, (_, i) => join(dir, `${String(i).padStart(5, '0')}.jpg`));
  if (names.every((n) => existsSync(n))) return names;
  const rng = Rng.fromSeed(7);
  for (let i = 0; i < count; i++) {
    const coarse = Uint8Array.from({ length: 16 * 16 * 3 }, () => rng.integer(0, 256));
    const smooth = await sharp(coarse, { raw: { width: 16, height: 16, channels: 3 } })
      .resize(size, size, { kernel: 'cubic' })
      .raw()
      .toBuffer();
    for (let j = 0; j < smooth.length; j++) smooth[j] = Math.max(0, Math.min(255, smooth[j]! + rng.integer(-24, 25)));
    await sharp(smooth, { raw: { width: size, height: size, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(names[i]!);
  }
  return names;
}
