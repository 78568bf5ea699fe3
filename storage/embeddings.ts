// Stored embeddings: embeddings/<modelHash>/part-NNNNN.f32 (rows of little-endian float32) and part-NNNNN.keys.json
// (the row keys, the dimension, the feature-map shape when rows are maps, and the keys that could not be decoded). The keys file is written after the vectors and
// is what makes a part exist, so a crash mid-part leaves nothing a reader would trust.
import { KeyListBuilder, type KeyList } from '../ml/data/key-list.ts';
import type { Storage } from './storage.ts';
import { embeddingsPrefix, PART_KEYS_FILE, partKeysKey, partVectorsKey } from './layout.ts';

export type MapShape = [number, number, number];

export interface PartKeys {
  version: 1;
  dim: number;
  /** [h, w, c] when each row is a feature map (channels last, dim = h * w * c); absent for pooled vectors. */
  mapShape?: MapShape;
  /** One per row of the .f32 file, in order. */
  keys: string[];
  /** Images this part could not read or decode: counted as done, never retried for this model. */
  skipped: { key: string; reason: string }[];
  source: string;
  runId: string;
}

/** Part numbers that have a keys file, ascending. */
export async function listParts(store: Storage, hash: string): Promise<number[]> {
  const parts: number[] = [];
  for await (const object of store.list(`${embeddingsPrefix(hash)}/`)) {
    const m = PART_KEYS_FILE.exec(object.key);
    if (m) parts.push(Number(m[1]));
  }
  return parts.sort((a, b) => a - b);
}

export async function readPartKeys(store: Storage, hash: string, part: number): Promise<PartKeys> {
  return JSON.parse((await store.get(partKeysKey(hash, part))).toString('utf8')) as PartKeys;
}

export interface EmbeddingTable {
  dim: number;
  /** [h, w, c] when the rows are feature maps (dim = h * w * c). */
  mapShape?: MapShape;
  keys: string[];
  /** keys.length x dim, row-major. */
  data: Float32Array;
  /** Keys recorded as undecodable. */
  skipped: Set<string>;
}

/** Every stored row of a model's embeddings (a key embedded twice keeps its first row). */
export async function readEmbeddings(
  store: Storage,
  hash: string,
  onPart?: () => void,
): Promise<EmbeddingTable> {
  const rows: Float32Array[] = [];
  const keys: string[] = [];
  const seen = new Set<string>();
  const skipped = new Set<string>();
  let dim = 0;
  let mapShape: MapShape | undefined;
  let shapeFrom: number | undefined;
  for (const part of await listParts(store, hash)) {
    const info = await readPartKeys(store, hash, part);
    for (const s of info.skipped) skipped.add(s.key);
    if (info.keys.length === 0) continue;
    const bytes = await store.get(partVectorsKey(hash, part));
    if (bytes.length !== info.keys.length * info.dim * 4) {
      throw new Error(
        `${partVectorsKey(hash, part)} has ${bytes.length} bytes, expected ${info.keys.length} x ${info.dim} float32`,
      );
    }
    if (dim !== 0 && info.dim !== dim)
      throw new Error(`${partKeysKey(hash, part)}: dim ${info.dim}, earlier parts ${dim}`);
    if (shapeFrom !== undefined && JSON.stringify(info.mapShape) !== JSON.stringify(mapShape))
      throw new Error(
        `${partKeysKey(hash, part)}: map shape ${describeShape(info.mapShape)}, ${partKeysKey(hash, shapeFrom)} ${describeShape(mapShape)}; embeddings of one model hash must all be vectors or all maps of one shape`,
      );
    checkMapShape(info, partKeysKey(hash, part));
    dim = info.dim;
    mapShape = info.mapShape;
    shapeFrom = part;
    // Copy: the Buffer may be a view into a shared pool with an unaligned offset.
    const vectors = new Float32Array(new Uint8Array(bytes).buffer);
    info.keys.forEach((key, i) => {
      if (seen.has(key)) return;
      seen.add(key);
      keys.push(key);
      rows.push(vectors.subarray(i * dim, (i + 1) * dim));
    });
    onPart?.();
  }
  const data = new Float32Array(keys.length * dim);
  rows.forEach((r, i) => data.set(r, i * dim));
  return { dim, keys, data, skipped, ...(mapShape ? { mapShape } : {}) };
}

const describeShape = (shape: MapShape | undefined) => (shape ? `[${shape.join(', ')}]` : 'none (vectors)');

function checkMapShape(info: PartKeys, where: string): void {
  if (info.mapShape === undefined) return;
  const shape = info.mapShape;
  if (!(Array.isArray(shape) && shape.length === 3 && shape.every((v) => Number.isInteger(v) && v > 0)))
    throw new Error(`${where}: mapShape must be [h, w, c] of positive whole numbers, got ${JSON.stringify(shape)}`);
  if (shape[0] * shape[1] * shape[2] !== info.dim)
    throw new Error(`${where}: mapShape [${shape.join(', ')}] has ${shape[0] * shape[1] * shape[2]} values, but dim is ${info.dim}`);
}

/** Keys already embedded (or recorded as undecodable) for a model, and its part numbers. */
export async function embeddedKeys(store: Storage, hash: string): Promise<{ done: KeyList; parts: number[] }> {
  const done = new KeyListBuilder();
  const parts = await listParts(store, hash);
  for (const part of parts) {
    const info = await readPartKeys(store, hash, part);
    for (const key of info.keys) done.add(key);
    for (const s of info.skipped) done.add(s.key);
  }
  return { done: done.list(), parts };
}

/** The embedding run that wrote a part, or undefined when the part does not exist yet. */
export async function partWriter(store: Storage, hash: string, part: number): Promise<string | undefined> {
  if (!(await store.exists(partKeysKey(hash, part)))) return undefined;
  return (await readPartKeys(store, hash, part)).runId;
}

/** Writes a part: the vectors first, then the keys file that makes it exist. */
export async function writePart(store: Storage, hash: string, part: number, vectors: Float32Array, info: PartKeys): Promise<void> {
  await store.put(partVectorsKey(hash, part), new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength));
  await store.put(partKeysKey(hash, part), JSON.stringify(info));
}
