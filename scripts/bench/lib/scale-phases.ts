// What the scale benchmark measures on one source, each phase through the project's own functions called directly (no
// Temporal: the workflow's scheduling is not what grows with the source). The phases that need tfjs live in
// scale-phases-ml.ts and are imported only by the processes that run them, so listing and ingest are measured without
// TensorFlow's libraries in memory.
// - list: the storage listing, every key once.
// - ingest: the ingest workflow's loop (count, then chunks of 500 listed after a cursor and inspected two at a time
//   into manifest parts, then the index) over the activities' own listChunk / inspectIntoManifest / manifestIndex.
import { inspectIntoManifest, listChunk, manifestIndex } from '../../../activities/ingest.ts';
import { addCounts, emptyCounts } from '../../../contracts/ingest.ts';
import { manifestIndexKey } from '../../../storage/layout.ts';
import type { Storage } from '../../../storage/index.ts';

export const PHASES = ['list', 'ingest', 'embed', 'refit'] as const;
export type Phase = (typeof PHASES)[number];

export interface PhaseContext {
  source: Storage;
  /** Where this fraction's manifest and embeddings go. */
  store: Storage;
  runId: string;
  /** Called now and then with the objects done so far. */
  progress(done: number): void;
}

/** Objects the phase handled. */
export async function runIoPhase(phase: 'list' | 'ingest', ctx: PhaseContext): Promise<number> {
  return phase === 'list' ? listAll(ctx) : ingest(ctx);
}

async function listAll(ctx: PhaseContext): Promise<number> {
  let count = 0;
  for await (const _ of ctx.source.list()) if (++count % 10_000 === 0) ctx.progress(count);
  return count;
}

const INGEST = { chunkSize: 500, parallelChunks: 2 };

async function ingest(ctx: PhaseContext): Promise<number> {
  let total = 0;
  for await (const _ of ctx.source.list()) total++;
  const counts = emptyCounts();
  let cursor = '';
  let parts = 0;
  let listingDone = false;
  const inFlight = new Set<Promise<void>>();
  while (!listingDone || inFlight.size > 0) {
    if (!listingDone && inFlight.size < INGEST.parallelChunks) {
      const listed = await listChunk(ctx.source, cursor, INGEST.chunkSize);
      listingDone = listed.done || listed.files.length === 0;
      if (listed.files.length === 0) continue;
      cursor = listed.files.at(-1)!.key;
      const task = inspectIntoManifest(ctx.store, ctx.source, { runId: ctx.runId, part: parts++, files: listed.files }).then((result) => {
        addCounts(counts, result.counts);
        ctx.progress(counts.files);
      });
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
      continue;
    }
    await Promise.race(inFlight);
  }
  if (counts.files !== total) throw new Error(`ingest: counted ${total} files but inspected ${counts.files}`);
  const index = manifestIndex({ source: ctx.source.location, runId: ctx.runId, parts, counts });
  await ctx.store.put(manifestIndexKey(ctx.runId), JSON.stringify(index, null, 2));
  return counts.files;
}
