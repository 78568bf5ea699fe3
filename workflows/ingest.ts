import { continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { IngestActivities } from '../activities/ingest.ts';
import { BAD_SAMPLE_LIMIT, addCounts, emptyCounts, ingestProgressQuery, type IngestCarriedState, type IngestInput, type IngestProgress, type IngestSummary } from '../contracts/ingest.ts';
import { TASK_QUEUES } from '../contracts/task-queues.ts';
import { definedOnly } from './options.ts';

const DEFAULTS = { chunkSize: 500, parallelChunks: 2, chunksPerRun: 40, heartbeatTimeoutMs: 30_000 };

/**
 * Lists every file under a folder or bucket, checks each with sharp, and writes a JSON-lines manifest in
 * parts (one per chunk) plus an index. A chunk's part is written whole by one activity, so a retried chunk
 * overwrites its own part and every image appears exactly once.
 */
export async function ingestWorkflow(input: IngestInput): Promise<IngestSummary> {
  const options = { ...DEFAULTS, ...definedOnly(input) };
  const runId = workflowInfo().workflowId;
  const io = proxyActivities<IngestActivities>({
    taskQueue: TASK_QUEUES.io,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: options.heartbeatTimeoutMs,
    retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: ['BadSourceError'] },
  });

  const state: IngestCarriedState = input.carried ?? {
    total: -1,
    cursor: '',
    parts: 0,
    counts: emptyCounts(),
    badSample: [],
    startedAt: Date.now(),
  };
  const progress: IngestProgress = {
    phase: state.total < 0 ? 'counting' : 'inspecting',
    total: Math.max(state.total, 0),
    inspected: state.counts.files,
    images: state.counts.images,
    bad: state.counts.bad,
  };
  setHandler(ingestProgressQuery, () => progress);

  if (state.total < 0) {
    state.total = await io.countFiles({ source: input.source });
    progress.total = state.total;
    progress.phase = 'inspecting';
  }

  let chunksThisRun = 0;
  let listingDone = false;
  const inFlight = new Set<Promise<void>>();
  while (!listingDone || inFlight.size > 0) {
    if (!listingDone && inFlight.size < options.parallelChunks && chunksThisRun < options.chunksPerRun) {
      const listed = await io.listFiles({ source: input.source, startAfter: state.cursor, limit: options.chunkSize });
      if (listed.files.length === 0) {
        listingDone = true;
        continue;
      }
      state.cursor = listed.files[listed.files.length - 1].key;
      listingDone = listed.done;
      const part = state.parts++;
      chunksThisRun++;
      const task = io
        .inspectFiles({ source: input.source, runId, part, files: listed.files, maxPixels: options.maxPixels })
        .then((result) => {
          addCounts(state.counts, result.counts);
          for (const bad of result.bad) if (state.badSample.length < BAD_SAMPLE_LIMIT) state.badSample.push(bad);
          progress.inspected = state.counts.files;
          progress.images = state.counts.images;
          progress.bad = state.counts.bad;
        });
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
      continue;
    }
    if (inFlight.size > 0) {
      await Promise.race(inFlight);
      continue;
    }
    // Listing is not done but this run has handled its share of chunks: hand over with a fresh history.
    await continueAsNew<typeof ingestWorkflow>({ ...input, carried: state });
  }

  progress.phase = 'writing-manifest';
  const manifestKey = await io.writeManifestIndex({
    source: input.source,
    runId,
    parts: state.parts,
    counts: state.counts,
  });
  progress.phase = 'done';
  return {
    runId,
    source: input.source,
    manifestKey,
    counts: state.counts,
    badSample: state.badSample,
    parts: state.parts,
    durationMs: Date.now() - state.startedAt,
  };
}

