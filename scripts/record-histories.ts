// Records workflow histories for the replay test (tests/workflows-replay.test.ts): each scenario runs against a fresh
// Temporal dev server with stub activities, and its histories are saved (binary protobuf) under tests/fixtures/histories/.
// Record with the code that is deployed before a change (e.g. a git worktree of the last release) so the replay test
// proves that open runs of that code continue under the new one:
//   git worktree add /tmp/previous <commit> && ln -s "$PWD/node_modules" /tmp/previous/node_modules
//   node --import tsx scripts/record-histories.ts --workflows /tmp/previous/workflows/index.ts --tag <commit>
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
const { temporal } = proto;
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { freePort } from '../cli/services/process.ts';
import { startTemporalServer } from '../cli/services/temporal.ts';

const { values } = parseArgs({
  options: {
    workflows: { type: 'string', default: join(import.meta.dirname, '..', 'workflows', 'index.ts') },
    tag: { type: 'string', default: 'current' },
    out: { type: 'string', default: join(import.meta.dirname, '..', 'tests', 'fixtures', 'histories') },
  },
});
Runtime.install({
  logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } as never,
});

const home = await mkdtemp(join(tmpdir(), 'patchwork-record-'));
const server = await startTemporalServer({ port: await freePort(), logDir: home });
const connection = await NativeConnection.connect({ address: server.address });
const client = new Client({ connection: await Connection.connect({ address: server.address }) });

/** Stub activities of the active-learning loop: a project whose label count the scenario sets. */
let labelled = 4;
let fineTuneFailures = 1;
const activities = {
  labelStatus: async () => ({ images: 10, labelled, trainable: true }),
  fineTune: async () => {
    if (fineTuneFailures-- > 0) throw new Error('transient: retried by Temporal');
    return { labelled, trainLoss: 0.5, missingEmbeddings: 0 };
  },
  predictAll: async () => ({ predicted: 10, evaluatedOn: 'train', classes: [], meanAuc: null }),
  rankQueue: async (input: { runId: string; round: number }) => ({
    queueKey: `runs/${input.runId}/rounds/${input.round}/queue.json`,
    queueSize: 0,
    queueHead: [],
  }),
  publishRound: async () => undefined,
};
/** Stub activities of pretraining: two epochs of four steps, a refit per epoch, a downstream probe. */
let trainFailures = 1;
const pretrainActivities = {
  preparePretrain: async () => ({
    files: 16,
    stepsPerEpoch: 4,
    totalSteps: 8,
    refitEvery: 1,
    hasLabels: true,
    testFiles: 0,
  }),
  refitClusters: async () => ({ nmi: 0.5, empty_clusters: 0 }),
  trainSteps: async (input: { toStep: number; learningRate?: number }) => {
    if (trainFailures-- > 0) throw new Error('transient: retried by Temporal');
    return {
      step: input.toStep,
      metrics: { loss: 1 / (input.toStep + 1), learning_rate: input.learningRate ?? 0.01 },
    };
  },
  evaluateDownstream: async () => ({ linear_classification_accuracy: 0.5 }),
  evaluateTestSet: async () => ({}),
  exportModel: async (input: { runId: string }) => `runs/${input.runId}/model/model.json`,
};
Object.assign(activities, pretrainActivities);
/** Stub activities of ingest: five files listed two at a time, one of them bad; the first inspection is retried. */
const ingestKeys = ['a.png', 'b.png', 'c.png', 'd.png', 'e.png'];
let inspectFailures = 1;
const ingestActivities = {
  countFiles: async () => ingestKeys.length,
  listFiles: async (input: { startAfter: string; limit: number }) => {
    const rest = ingestKeys.filter((k) => k > input.startAfter);
    return { files: rest.slice(0, input.limit).map((key) => ({ key, size: 10 })), done: rest.length <= input.limit };
  },
  inspectFiles: async (input: { files: { key: string; size: number }[] }) => {
    if (inspectFailures-- > 0) throw new Error('transient: retried by Temporal');
    const bad = input.files.filter((f) => f.key === 'c.png');
    const good = input.files.length - bad.length;
    return {
      counts: { files: input.files.length, images: good, bad: bad.length, bytes: 10 * input.files.length, byFormat: { png: good }, byReason: bad.length ? { truncated: bad.length } : {} },
      bad: bad.map((f) => ({ ...f, reason: 'truncated', message: 'truncated PNG' })),
    };
  },
  writeManifestIndex: async (input: { runId: string }) => `runs/${input.runId}/manifest/index.json`,
};
/** Stub activities of embedding: five pending images in chunks of two, a projector at the end. */
const embedActivities = {
  describeEmbeddingModel: async () => ({ modelHash: 'hash', dim: 4 }),
  planEmbedding: async () => ({ total: 6, alreadyDone: 1, pending: 5, firstPart: 1 }),
  embedChunk: async (input: { offset: number; limit: number }) => ({ embedded: Math.min(input.limit, 5 - input.offset), skipped: 0 }),
  writeEmbeddingProjector: async (input: { runId: string }) => ({ dir: `runs/${input.runId}/projector`, points: 5 }),
};
Object.assign(activities, ingestActivities, embedActivities);
const workers = await Promise.all(
  ['patchwork-io', 'patchwork-gpu'].map((taskQueue) =>
    Worker.create({ connection, taskQueue, workflowsPath: resolve(values.workflows!), activities }),
  ),
);
const running = workers.map((w) => w.run());

async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The runs of a workflow from its first, following continue-as-new. */
async function chain(workflowId: string, firstRunId: string): Promise<string[]> {
  const runs = [firstRunId];
  for (;;) {
    const events = (await client.workflow.getHandle(workflowId, runs.at(-1)).fetchHistory()).events ?? [];
    const next = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    if (!next) return runs;
    runs.push(next);
  }
}

async function save(name: string, workflowId: string, runIds: string[]): Promise<void> {
  for (const [i, runId] of runIds.entries()) {
    // Binary protobuf: JSON histories need protobufjs's protojson extension, which breaks when npm installs a second
    // protobufjs beside the SDK's.
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const file = join(values.out!, `${name}-${values.tag}-${i + 1}.history.pb`);
    await writeFile(file, temporal.api.history.v1.History.encode(history).finish());
    console.log(`wrote ${file} (${history.events?.length} events)`);
  }
}

try {
  // Active learning: a round from the labels, a retrain signal, a retried activity, continue-as-new after two rounds,
  // new labels in the new run, then stop.
  const workflowId = 'label-record';
  const handle = await client.workflow.start('activeLearningWorkflow', {
    taskQueue: 'patchwork-io',
    workflowId,
    args: [{ project: 'record', modelHash: 'h', minNewLabels: 2, pollIntervalMs: 300, roundsPerRun: 2 }],
  });
  const status = () => handle.query<{ rounds: number; phase: string }>('activeLearningStatus');
  await until('round 1', async () => ((await status()).rounds >= 1 ? true : undefined));
  // A retrain carrying a head and a fit-only round, as the labeler's Train page sends it.
  await handle.signal('retrain', { head: { kind: 'mlp', hidden: 4 }, updatePredictions: false });
  const next = await until('continue-as-new', async () => {
    const d = await client.workflow.getHandle(workflowId).describe();
    return d.runId !== handle.firstExecutionRunId ? d.runId : undefined;
  });
  labelled = 8;
  const second = client.workflow.getHandle(workflowId, next);
  await until('round 3', async () =>
    (await second.query<{ rounds: number }>('activeLearningStatus')).rounds >= 3 ? true : undefined,
  );
  await second.signal('stop');
  await second.result();
  await save('active-learning', workflowId, await chain(workflowId, handle.firstExecutionRunId));

  // Pretraining: a retried training activity, pause and resume, a learning-rate change, a refit and a probe per
  // epoch, continue-as-new every two training activities, export (no embedding child).
  const runId = 'pretrain-record';
  const pretrain = await client.workflow.start('pretrainWorkflow', {
    taskQueue: 'patchwork-io',
    workflowId: runId,
    args: [
      {
        method: 'deepcluster',
        images: '/images',
        epochs: 2,
        embed: false,
        stepsPerActivity: 2,
        activitiesPerRun: 2,
      },
    ],
  });
  await pretrain.signal('pause');
  await until('paused', async () =>
    (await pretrain.query<{ phase: string }>('pretrainProgress')).phase === 'paused' ? true : undefined,
  );
  await pretrain.signal('setLearningRate', 0.005);
  await pretrain.signal('resume');
  const last = await client.workflow.getHandle(runId).result();
  const runs = await chain(runId, pretrain.firstExecutionRunId);
  console.log(`pretraining finished at step ${(last as { steps: number }).steps} over ${runs.length} runs`);
  await save('pretrain', runId, runs);

  // Pretraining at the default chunking: activities bounded by time (maxSeconds), not by a step count.
  const timedId = 'pretrain-timed-record';
  const timed = await client.workflow.start('pretrainWorkflow', {
    taskQueue: 'patchwork-io',
    workflowId: timedId,
    args: [{ method: 'iic', images: '/images', epochs: 2, embed: false }],
  });
  await client.workflow.getHandle(timedId).result();
  await save('pretrain-timed', timedId, await chain(timedId, timed.firstExecutionRunId));

  // Ingest: parallel inspections with a retried one, continue-as-new every two chunks with the listing cursor.
  const ingestId = 'ingest-record';
  const ingest = await client.workflow.start('ingestWorkflow', {
    taskQueue: 'patchwork-io',
    workflowId: ingestId,
    args: [{ source: '/images', chunkSize: 2, parallelChunks: 2, chunksPerRun: 2 }],
  });
  await client.workflow.getHandle(ingestId).result();
  await save('ingest', ingestId, await chain(ingestId, ingest.firstExecutionRunId));

  // Embedding: chunks over two runs (continue-as-new), then the projector.
  const embedId = 'embed-record';
  const embed = await client.workflow.start('embedWorkflow', {
    taskQueue: 'patchwork-io',
    workflowId: embedId,
    args: [{ source: '/images', model: { run: 'pretrain-record' }, chunkSize: 2, chunksPerRun: 2, batchSize: 8, projectorLimit: 100 }],
  });
  await client.workflow.getHandle(embedId).result();
  await save('embed', embedId, await chain(embedId, embed.firstExecutionRunId));
} finally {
  workers.forEach((w) => w.shutdown());
  await Promise.allSettled(running);
  await connection.close();
  await client.connection.close();
  await server.process.stop('SIGTERM', 5_000);
  await rm(home, { recursive: true, force: true });
}
