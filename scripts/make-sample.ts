/**
 * Writes a sample image folder for the quickstart: Fashion-MNIST images (Debian's dataset-fashion-mnist) as PNG
 * files, plus a few broken files so the ingest summary shows how bad input is reported.
 *   node --import tsx scripts/make-sample.ts <folder> [count]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readIdxImages, FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, readIdxLabels } from './fashion-mnist.ts';
import sharp from 'sharp';

const [folder, countText = '200'] = process.argv.slice(2);
if (!folder) {
  console.error('usage: make-sample.ts <folder> [count]');
  process.exit(2);
}
const count = Number(countText);
const images = await readIdxImages(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'), count);
const labels = await readIdxLabels(join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz'), count);
const labelRows: string[] = ['filepath,label'];
for (let i = 0; i < images.count; i++) {
  const label = FASHION_MNIST_CLASSES[labels[i]];
  labelRows.push(`${label}/${String(i).padStart(5, '0')}.png,${label}`);
  const dir = join(folder, 'fashion', label);
  await mkdir(dir, { recursive: true });
  const pixels = images.data.subarray(i * images.rows * images.cols, (i + 1) * images.rows * images.cols);
  const png = await sharp(Buffer.from(pixels), { raw: { width: images.cols, height: images.rows, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  await writeFile(join(dir, `${String(i).padStart(5, '0')}.png`), png);
}
// Labels for downstream monitoring during pretraining, beside the folder (paths are relative to fashion/).
await writeFile(`${folder.replace(/\/+$/, '')}-labels.csv`, labelRows.join('\n') + '\n');
await mkdir(join(folder, 'broken'), { recursive: true });
await writeFile(join(folder, 'broken', 'empty.png'), Buffer.alloc(0));
await writeFile(join(folder, 'broken', 'notes.txt'), 'not an image\n');
const noise = Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 7919) % 251));
const whole = await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
await writeFile(join(folder, 'broken', 'truncated.png'), whole.subarray(0, Math.floor(whole.length * 0.6)));
console.log(`wrote ${images.count} Fashion-MNIST PNGs and 3 broken files under ${folder}`);
