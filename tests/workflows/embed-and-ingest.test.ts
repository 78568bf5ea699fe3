// embedWorkflow and ingestWorkflow's chunking on a real Temporal server with stub activities: chunk offsets and part
// numbers, parallel inspections, continue-as-new with the state carried, and the progress queries.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EmbedActivities } from '../../activities/embed.ts';
import type { IngestActivities } from '../../activities/ingest.ts';
import { TASK_QUEUES } from '../../contracts/task-queues.ts';
import { embedProgressQuery } from '../../contracts/embed.ts';
import { emptyCounts, ingestProgressQuery, type IngestCounts } from '../../contracts/ingest.ts';
import { embedWorkflow, ingestWorkflow } from '../../workflows/index.ts';
import { continuedAsNew, scheduledActivities, startWorkflowEnv, type WorkflowEnv } from '../helpers/workflow-env.ts';

const EMBED_ACTIVITIES = {
  describeEmbeddingModel: true,
  planEmbedding: true,
  embedChunk: true,
  writeEmbeddingProjector: true,
} satisfies Record<keyof EmbedActivities, true>;
const INGEST_ACTIVITIES = {
  countFiles: true,
  listFiles: true,
  inspectFiles: true,
  writeManifestIndex: true,
} satisfies Record<keyof IngestActivities, true>;

describe('embedWorkflow and ingestWorkflow with stub activities', () => {
  let env: WorkflowEnv;
  before(async () => {
    env = await startWorkflowEnv(Object.keys({ ...EMBED_ACTIVITIES, ...INGEST_ACTIVITIES }));
  });
  after(async () => {
    await env?.stop();
  });

  test('embedding walks the pending list in chunks, one part each, and continues as new with the offset', async () => {
    const stubs = env.stub<EmbedActivities>({
      describeEmbeddingModel: async () => ({ modelHash: 'hash', dim: 4 }),
      planEmbedding: async () => ({ total: 7, alreadyDone: 2, pending: 5, firstPart: 3 }),
      embedChunk: async ({ offset, limit }) => ({ embedded: Math.min(limit, 5 - offset) - (offset === 2 ? 1 : 0), skipped: offset === 2 ? 1 : 0 }),
      writeEmbeddingProjector: async ({ runId }) => ({ dir: `runs/${runId}/projector`, points: 4 }),
    });
    const handle = await env.client.workflow.start(embedWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: 'embed-chunks',
      args: [{ source: '/images', model: { run: 'pretrain-1' }, chunkSize: 2, chunksPerRun: 2, batchSize: 8 }],
    });
    const result = await handle.result();

    assert.deepEqual(
      stubs.inputsOf('embedChunk').map(({ offset, limit, part, batchSize, modelHash, runId }) => ({ offset, limit, part, batchSize, modelHash, runId })),
      [
        { offset: 0, limit: 2, part: 3, batchSize: 8, modelHash: 'hash', runId: 'embed-chunks' },
        { offset: 2, limit: 2, part: 4, batchSize: 8, modelHash: 'hash', runId: 'embed-chunks' },
        { offset: 4, limit: 2, part: 5, batchSize: 8, modelHash: 'hash', runId: 'embed-chunks' },
      ],
    );
    assert.deepEqual(stubs.names().filter((name) => name !== 'embedChunk'), ['describeEmbeddingModel', 'planEmbedding', 'writeEmbeddingProjector']);
    assert.equal(await continuedAsNew(env.client.workflow.getHandle('embed-chunks', handle.firstExecutionRunId)), true);
    assert.deepEqual(
      { ...result, durationMs: 0 },
      {
        runId: 'embed-chunks',
        source: '/images',
        modelHash: 'hash',
        dim: 4,
        prefix: 'embeddings/hash/',
        total: 7,
        alreadyDone: 2,
        embedded: 4,
        skipped: 1,
        parts: 3,
        projectorDir: 'runs/embed-chunks/projector',
        projectorPoints: 4,
        durationMs: 0,
      },
    );
    assert.deepEqual(await handle.query(embedProgressQuery), { phase: 'done', total: 7, pending: 5, embedded: 4, skipped: 1 });
  });

  test('without a projector limit no projector is written', async () => {
    const stubs = env.stub<EmbedActivities>({
      describeEmbeddingModel: async () => ({ modelHash: 'hash', dim: 4 }),
      planEmbedding: async () => ({ total: 2, alreadyDone: 2, pending: 0, firstPart: 1 }),
    });
    const result = await env.client.workflow.execute(embedWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: 'embed-nothing-pending',
      args: [{ source: '/images', model: { path: '/model.json' }, projectorLimit: 0 }],
    });
    assert.deepEqual(stubs.names(), ['describeEmbeddingModel', 'planEmbedding']);
    assert.deepEqual([result.embedded, result.parts, result.projectorDir, result.projectorPoints], [0, 0, undefined, 0]);
  });

  test('ingest inspects listed chunks in parallel, numbers the parts, and continues as new with the cursor', async () => {
    const keys = ['a.png', 'b.png', 'c.png', 'd.png', 'e.png'];
    const counted = (files: { key: string; size: number }[]): IngestCounts => {
      const bad = files.filter((f) => f.key === 'c.png').length;
      return { ...emptyCounts(), files: files.length, images: files.length - bad, bad, bytes: files.reduce((n, f) => n + f.size, 0), byFormat: { png: files.length - bad }, byReason: bad ? { truncated: bad } : {} };
    };
    const stubs = env.stub<IngestActivities>({
      countFiles: async () => keys.length,
      listFiles: async ({ startAfter, limit }) => {
        const rest = keys.filter((k) => k > startAfter);
        return { files: rest.slice(0, limit).map((key) => ({ key, size: 10 })), done: rest.length <= limit };
      },
      inspectFiles: async ({ files }) => ({
        counts: counted(files),
        bad: files.filter((f) => f.key === 'c.png').map((f) => ({ ...f, reason: 'truncated' as const, message: 'truncated PNG' })),
      }),
      writeManifestIndex: async ({ runId }) => `runs/${runId}/manifest/index.json`,
    });
    const openInspections = stubs.hold('inspectFiles');
    const handle = await env.client.workflow.start(ingestWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: 'ingest-chunks',
      args: [{ source: '/images', chunkSize: 2, parallelChunks: 2, chunksPerRun: 2 }],
    });
    await stubs.called('inspectFiles', 2);
    openInspections();
    const summary = await handle.result();

    assert.deepEqual(stubs.inputsOf('listFiles').map(({ startAfter }) => startAfter), ['', 'b.png', 'd.png']);
    assert.deepEqual(
      stubs.inputsOf('inspectFiles').map(({ part, files, runId }) => [runId, part, files.map((f) => f.key)]),
      [
        ['ingest-chunks', 0, ['a.png', 'b.png']],
        ['ingest-chunks', 1, ['c.png', 'd.png']],
        ['ingest-chunks', 2, ['e.png']],
      ],
    );
    assert.equal(stubs.inputsOf('countFiles').length, 1);
    assert.equal(await continuedAsNew(env.client.workflow.getHandle('ingest-chunks', handle.firstExecutionRunId)), true);
    const counts = { files: 5, images: 4, bad: 1, bytes: 50, byFormat: { png: 4 }, byReason: { truncated: 1 } };
    assert.deepEqual(stubs.inputsOf('writeManifestIndex'), [{ source: '/images', runId: 'ingest-chunks', parts: 3, counts }]);
    assert.deepEqual(
      { ...summary, durationMs: 0 },
      {
        runId: 'ingest-chunks',
        source: '/images',
        manifestKey: 'runs/ingest-chunks/manifest/index.json',
        counts,
        badSample: [{ key: 'c.png', size: 10, reason: 'truncated', message: 'truncated PNG' }],
        parts: 3,
        durationMs: 0,
      },
    );
    assert.deepEqual(await handle.query(ingestProgressQuery), { phase: 'done', total: 5, inspected: 5, images: 4, bad: 1 });
    const inspections = (await scheduledActivities(env.client.workflow.getHandle('ingest-chunks', handle.firstExecutionRunId))).filter(({ name }) => name === 'inspectFiles');
    assert.deepEqual(inspections.map(({ heartbeatTimeoutMs }) => heartbeatTimeoutMs), [30_000, 30_000]);
  });
});
