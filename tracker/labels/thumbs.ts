// Cached thumbnails of project images: read through Storage, resized with sharp, kept as JPEG files under cacheDir.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ImageSource } from './image-sources.ts';
import { LabelStoreError } from './errors.ts';

export async function thumbnail(source: ImageSource, size: number, cacheDir: string): Promise<Buffer> {
  const name = createHash('sha256').update(`${source.id}\0${size}`).digest('hex');
  const dir = join(cacheDir, name.slice(0, 2));
  const path = join(dir, `${name}.jpg`);
  try {
    return await readFile(path);
  } catch {
    // not cached yet
  }
  const bytes = await source.read();
  let out: Buffer;
  try {
    out = await sharp(bytes)
      .rotate()
      .resize(size, size, { fit: 'inside', withoutEnlargement: false })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 85 })
      .toBuffer();
  } catch (error) {
    throw new LabelStoreError(
      `the image cannot be decoded (${(error as Error).message}); replace the file`,
      422,
    );
  }
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, out);
  await rename(tmp, path); // atomic: a reader never sees half a file
  return out;
}
