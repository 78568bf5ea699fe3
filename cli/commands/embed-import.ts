// `patchwork embed import`: pre-extracted features from a .npy file into the store, where a labeling loop reads them
// like the embedding workflow's (rank 2: vectors; rank 4: feature maps for the pool and convnet heads).
import { mkdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadSettings } from '../../config/settings.ts';
import { openStorage, parseLocation } from '../../storage/index.ts';
import { importNpyEmbeddings, parseKeyLines } from '../../storage/embedding-import.ts';
import { embeddingsPrefix } from '../../storage/layout.ts';

export interface EmbedImportOptions {
  keys: string;
  name?: string;
  images?: string;
}

async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new Error(`cannot read the ${what} ${path}: ${(error as Error).message}`);
  }
}

export async function embedImportCommand(file: string, options: EmbedImportOptions): Promise<void> {
  const settings = loadSettings();
  const npy = await readInput(file, '.npy file');
  const keys = parseKeyLines((await readInput(options.keys, 'keys file')).toString('utf8'), options.keys);
  const where = parseLocation(settings.store);
  // A local store may not exist yet when nothing has run (`patchwork up` makes it otherwise).
  if (where.kind === 'local') await mkdir(where.path, { recursive: true });
  const store = openStorage(where, settings.s3);
  const result = await importNpyEmbeddings(store, {
    npy,
    file,
    keys,
    name: options.name,
    source: options.images ?? resolve(file),
  });
  const shape = result.mapShape ? `feature maps ${result.mapShape.join(' x ')}` : `vectors of ${result.dim}`;
  console.log(`imported ${result.rows} rows (${shape}, ${result.descr}) into ${embeddingsPrefix(result.name)}/ in ${result.parts} parts`);
  console.log(`  model hash for a labeling loop: ${result.name}`);
}
