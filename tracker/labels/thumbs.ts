// Cached thumbnails of project images: read through Storage, resized with sharp, kept as JPEG files under cacheDir.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Storage } from '../../storage/storage.ts';

export async function thumbnail(
  storage: Storage,
  storageKey: string,
  size: number,
  cacheDir: string,
): Promise<Buffer> {
  const name = createHash('sha256').update(`${storage.location}\0${storageKey}\0${size}`).digest('hex');
  const dir = join(cacheDir, name.slice(0, 2));
  const path = join(dir, `${name}.jpg`);
  try {
    return await readFile(path);
  } catch {
    // not cached yet
  }
  const source = await storage.get(storageKey);
  const out = await sharp(source)
    .rotate()
    .resize(size, size, { fit: 'inside', withoutEnlargement: false })
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: 85 })
    .toBuffer();
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, out);
  await rename(tmp, path); // atomic: a reader never sees half a file
  return out;
}
