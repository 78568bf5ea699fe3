// Pre-extracted features from a .npy file, stored as embeddings in the layout the embedding workflow writes (parts of
// rows plus keys files under embeddings/<name>/): rank 2 [n, d] as vectors, rank 4 [n, h, w, c] as feature maps.
import { createHash } from 'node:crypto';
import { listParts, writePart, type MapShape } from './embeddings.ts';
import { embeddingsPrefix, modelInfoKey } from './layout.ts';
import { parseNpy } from './npy.ts';
import type { Storage } from './storage.ts';

/** Rows per stored part, as the embedding workflow's default chunk. */
export const IMPORT_PART_ROWS = 512;

export interface ImportedEmbeddings {
  /** The folder name under embeddings/: what a labeling loop's modelHash names. */
  name: string;
  rows: number;
  dim: number;
  mapShape?: MapShape;
  parts: number;
  descr: string;
}

/** A name for imported features: 'npy-' and 12 hex digits of the file's sha256, so the same file maps to one name. */
export const importName = (bytes: Uint8Array) => `npy-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Parses the keys file's text: one key per line, blank lines at the end ignored. */
export function parseKeyLines(text: string, file: string): string[] {
  const keys = text.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
  const blank = keys.findIndex((k) => k.trim() === '');
  if (blank >= 0) throw new Error(`${file}: line ${blank + 1} is empty; give one image key per line, in the rows' order`);
  const seen = new Map<string, number>();
  keys.forEach((key, i) => {
    const first = seen.get(key);
    if (first !== undefined) throw new Error(`${file}: key ${JSON.stringify(key)} is on lines ${first + 1} and ${i + 1}; each row needs its own image`);
    seen.set(key, i);
  });
  return keys;
}

/**
 * Writes the .npy array's rows under embeddings/<name>/ with `keys` (one per row, in order). Refuses a name that
 * already has parts, so imported rows never mix with others.
 */
export async function importNpyEmbeddings(
  store: Storage,
  input: { npy: Uint8Array; file: string; keys: string[]; name?: string; source: string; partRows?: number },
): Promise<ImportedEmbeddings> {
  const name = input.name ?? importName(input.npy);
  if (!NAME.test(name)) throw new Error(`--name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-' (at most 100), starting with a letter or digit`);
  const array = parseNpy(input.npy, input.file);
  const { shape } = array;
  if (shape.length !== 2 && shape.length !== 4)
    throw new Error(`${input.file} has shape (${shape.join(', ')}); import needs rank 2 [images, features] or rank 4 [images, height, width, channels]`);
  const rows = shape[0]!;
  if (rows !== input.keys.length)
    throw new Error(`${input.file} has ${rows} rows but the keys file lists ${input.keys.length} keys; give one key per row, in the same order`);
  if (rows === 0) throw new Error(`${input.file} has no rows`);
  const mapShape = shape.length === 4 ? (shape.slice(1) as MapShape) : undefined;
  const dim = shape.slice(1).reduce((a, b) => a * b, 1);
  if (dim === 0) throw new Error(`${input.file} has shape (${shape.join(', ')}): rows without features`);
  const existing = await listParts(store, name);
  if (existing.length > 0)
    throw new Error(
      `${embeddingsPrefix(name)}/ already has ${existing.length} parts; import under another --name (or remove that folder from the store to replace it)`,
    );
  const partRows = input.partRows ?? IMPORT_PART_ROWS;
  const runId = `import-${name}`;
  let parts = 0;
  for (let start = 0; start < rows; start += partRows, parts++) {
    const end = Math.min(rows, start + partRows);
    await writePart(store, name, parts, array.data.subarray(start * dim, end * dim), {
      version: 1,
      dim,
      ...(mapShape ? { mapShape } : {}),
      keys: input.keys.slice(start, end),
      skipped: [],
      source: input.source,
      runId,
    });
  }
  await store.put(modelInfoKey(name), JSON.stringify({ imported: input.file, descr: array.descr, shape, dim }, null, 2));
  return { name, rows, dim, ...(mapShape ? { mapShape } : {}), parts, descr: array.descr };
}
