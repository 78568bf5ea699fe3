import type { Storage } from './storage.ts';
import type { BadFile, ImageRecord, IngestCounts } from '../contracts/ingest.ts';
import { manifestIndexKey } from './layout.ts';

/** One manifest line: an image's properties, or a bad file with its reason. */
export type ManifestEntry = ({ ok: true } & ImageRecord) | ({ ok: false } & BadFile);

export interface ManifestIndex {
  version: 1;
  runId: string;
  source: string;
  parts: string[];
  counts: IngestCounts;
  writtenAt: string;
}

export function encodeManifestPart(entries: ManifestEntry[]): string {
  return entries.map((entry) => JSON.stringify(entry)).join('\n') + (entries.length > 0 ? '\n' : '');
}

/** Streams every entry of a finished manifest, part by part, so a million-line manifest never sits in memory. */
export async function* readManifest(store: Storage, runId: string): AsyncIterable<ManifestEntry> {
  const index = JSON.parse((await store.get(manifestIndexKey(runId))).toString('utf8')) as ManifestIndex;
  for (const part of index.parts) {
    const text = (await store.get(part)).toString('utf8');
    for (const line of text.split('\n')) if (line !== '') yield JSON.parse(line) as ManifestEntry;
  }
}

/** The keys of rows `rows` of a list too long to hold; rows ascending within a call. */
export interface ChunkedKeyList {
  readonly size: number;
  keysAt(rows: Int32Array): Promise<string[]>;
}

/**
 * The images of a finished manifest (bad files left out) as a list indexed 0..images-1, read one part at a time: only
 * the part being read is held. Ascending rows across calls walk forward; a row before the current part (a new pass)
 * starts again at the first part.
 */
export async function manifestImageKeys(store: Storage, runId: string): Promise<ChunkedKeyList> {
  const index = JSON.parse((await store.get(manifestIndexKey(runId))).toString('utf8')) as ManifestIndex;
  let part = -1;
  let partStart = 0;
  let partKeys: string[] = [];
  const readPart = async (next: number) => {
    const text = (await store.get(index.parts[next]!)).toString('utf8');
    partKeys = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const entry = JSON.parse(line) as ManifestEntry;
      if (entry.ok) partKeys.push(entry.key);
    }
    part = next;
  };
  return {
    size: index.counts.images,
    async keysAt(rows: Int32Array): Promise<string[]> {
      const keys: string[] = [];
      for (const row of rows) {
        if (row < 0 || row >= index.counts.images) throw new RangeError(`manifestImageKeys: row ${row} is outside 0..${index.counts.images - 1}`);
        if (row < partStart || part < 0) {
          partStart = 0;
          await readPart(0);
        }
        while (row >= partStart + partKeys.length) {
          partStart += partKeys.length;
          await readPart(part + 1);
        }
        keys.push(partKeys[row - partStart]!);
      }
      return keys;
    },
  };
}
