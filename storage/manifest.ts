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
