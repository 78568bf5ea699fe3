import { ApplicationFailure } from '@temporalio/activity';
import pLimit from 'p-limit';
import { StorageError, type ObjectInfo, type Storage } from '../storage/index.ts';
import { emptyCounts, type BadFile, type IngestCounts } from '../contracts/ingest.ts';
import { keepHeartbeating } from './heartbeat.ts';
import { inspectImage } from './images.ts';
import { encodeManifestPart, type ManifestEntry, type ManifestIndex } from '../storage/manifest.ts';
import { manifestIndexKey, manifestPartKey } from '../storage/layout.ts';

export interface IngestDependencies {
  /** Where runs write their outputs (manifests, checkpoints). */
  store: Storage;
  /** Opens a user-given source location (folder or s3://). */
  openSource(location: string): Storage;
}

const DEFAULT_MAX_PIXELS = 0x3fff * 0x3fff;
const INSPECT_CONCURRENCY = 4;

export function createIngestActivities(deps: IngestDependencies) {
  function source(location: string): Storage {
    try {
      return deps.openSource(location);
    } catch (error) {
      throw badSource(error);
    }
  }

  return {
    async countFiles(input: { source: string }): Promise<number> {
      let count = 0;
      const stop = keepHeartbeating(() => ({ counted: count }));
      try {
        for await (const _ of source(input.source).list()) count++;
        return count;
      } catch (error) {
        throw badSource(error);
      } finally {
        stop();
      }
    },

    async listFiles(input: { source: string; startAfter: string; limit: number }): Promise<{ files: ObjectInfo[]; done: boolean }> {
      try {
        return await listChunk(source(input.source), input.startAfter, input.limit);
      } catch (error) {
        throw badSource(error);
      }
    },

    async inspectFiles(input: {
      source: string;
      runId: string;
      part: number;
      files: ObjectInfo[];
      maxPixels?: number;
    }): Promise<{ counts: IngestCounts; bad: BadFile[] }> {
      const storage = source(input.source);
      let done = 0;
      const stop = keepHeartbeating(() => ({ part: input.part, done, of: input.files.length }));
      try {
        return await inspectIntoManifest(deps.store, storage, input, () => done++);
      } finally {
        stop();
      }
    },

    async writeManifestIndex(input: { source: string; runId: string; parts: number; counts: IngestCounts }): Promise<string> {
      const key = manifestIndexKey(input.runId);
      await deps.store.put(key, JSON.stringify(manifestIndex(input), null, 2));
      return key;
    },
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;

/** Up to `limit` files listed after `startAfter`; `done` when the listing ended within them. */
export async function listChunk(storage: Storage, startAfter: string, limit: number): Promise<{ files: ObjectInfo[]; done: boolean }> {
  const files: ObjectInfo[] = [];
  for await (const file of storage.list('', { startAfter })) {
    if (files.length === limit) return { files, done: false };
    files.push(file);
  }
  return { files, done: true };
}

/**
 * Checks `files` (a few at a time) and writes them whole as manifest part `part` of `runId`, so a retried chunk
 * overwrites its own part. Memory follows the chunk, never the source.
 */
export async function inspectIntoManifest(
  store: Storage,
  storage: Storage,
  input: { runId: string; part: number; files: ObjectInfo[]; maxPixels?: number },
  onInspected?: () => void,
): Promise<{ counts: IngestCounts; bad: BadFile[] }> {
  const maxPixels = input.maxPixels ?? DEFAULT_MAX_PIXELS;
  const entries: ManifestEntry[] = new Array(input.files.length);
  const limit = pLimit(INSPECT_CONCURRENCY);
  await Promise.all(
    input.files.map((file, i) =>
      limit(async () => {
        entries[i] = await inspectOne(storage, file, maxPixels);
        onInspected?.();
      }),
    ),
  );
  await store.put(manifestPartKey(input.runId, input.part), encodeManifestPart(entries));
  return summarize(entries);
}

export function manifestIndex(input: { source: string; runId: string; parts: number; counts: IngestCounts }): ManifestIndex {
  return {
    version: 1,
    runId: input.runId,
    source: input.source,
    parts: Array.from({ length: input.parts }, (_, part) => manifestPartKey(input.runId, part)),
    counts: input.counts,
    writtenAt: new Date().toISOString(),
  };
}

async function inspectOne(storage: Storage, file: ObjectInfo, maxPixels: number): Promise<ManifestEntry> {
  let bytes: Buffer;
  try {
    bytes = await storage.get(file.key);
  } catch (error) {
    if (error instanceof StorageError && !['NOT_FOUND', 'IO'].includes(error.code)) throw error;
    return { ok: false, key: file.key, size: file.size, reason: 'unreadable', message: (error as Error).message };
  }
  const result = await inspectImage(file.key, bytes, maxPixels);
  return result.ok ? { ok: true, ...result.record } : { ok: false, ...result.bad };
}

function summarize(entries: ManifestEntry[]): { counts: IngestCounts; bad: BadFile[] } {
  const counts = emptyCounts();
  const bad: BadFile[] = [];
  for (const entry of entries) {
    counts.files++;
    counts.bytes += entry.size;
    if (entry.ok) {
      counts.images++;
      counts.byFormat[entry.format] = (counts.byFormat[entry.format] ?? 0) + 1;
    } else {
      counts.bad++;
      counts.byReason[entry.reason] = (counts.byReason[entry.reason] ?? 0) + 1;
      bad.push({ key: entry.key, size: entry.size, reason: entry.reason, message: entry.message });
    }
  }
  return { counts, bad };
}

/** A source that cannot be listed at all (missing folder or bucket, bad credentials) fails the run at once. */
function badSource(error: unknown): Error {
  if (error instanceof StorageError && error.code !== 'UNREACHABLE' && error.code !== 'IO') {
    return ApplicationFailure.create({ type: 'BadSourceError', message: error.message, nonRetryable: true });
  }
  return error as Error;
}
