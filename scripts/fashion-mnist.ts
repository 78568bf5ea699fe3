import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = [
  't-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot',
];

async function readIdx(path: string): Promise<Buffer> {
  try {
    return gunzipSync(await readFile(path));
  } catch (error) {
    throw new Error(`cannot read ${path} (${(error as Error).message}); install it with: apt-get install dataset-fashion-mnist`);
  }
}

/** IDX image file: magic 0x00000803, count, rows, cols (big-endian), then uint8 pixels. */
export async function readIdxImages(path: string, limit = Infinity): Promise<{ count: number; rows: number; cols: number; data: Uint8Array }> {
  const bytes = await readIdx(path);
  if (bytes.readUInt32BE(0) !== 0x803) throw new Error(`${path} is not an IDX image file`);
  const count = Math.min(bytes.readUInt32BE(4), limit);
  const rows = bytes.readUInt32BE(8);
  const cols = bytes.readUInt32BE(12);
  return { count, rows, cols, data: bytes.subarray(16, 16 + count * rows * cols) };
}

/** IDX label file: magic 0x00000801, count, then uint8 labels. */
export async function readIdxLabels(path: string, limit = Infinity): Promise<Uint8Array> {
  const bytes = await readIdx(path);
  if (bytes.readUInt32BE(0) !== 0x801) throw new Error(`${path} is not an IDX label file`);
  const count = Math.min(bytes.readUInt32BE(4), limit);
  return bytes.subarray(8, 8 + count);
}
