// A small cluster without shared disk: two compute workers with a PATCHWORK_HOME each, the store and the images on
// MinIO, the tracker remote. One compute worker dies mid-chunk, MinIO restarts mid-run, and the run still ends with
// every step trained and logged once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import type { ManagedProcess } from '../cli/services/process.ts';
import { connectClient } from '../cli/temporal-client.ts';
import { pretrainWorkflow } from '../workflows/index.ts';
import { TASK_QUEUES } from '../contracts/task-queues.ts';
import { pretrainProgressQuery } from '../contracts/pretrain.ts';
import { openStorage, S3Storage } from '../storage/index.ts';
import { eventAccumulatorScalars, patternImages } from './helpers/pretrain.ts';
import { startStack, type TestStack } from './helpers/stack.ts';
import { pollUntil } from './helpers/tensorboard.ts';
import { startTracker, type LiveTracker } from './helpers/tracker.ts';

/** Polls until `probe` gives a value (errors count as not yet), for up to 3 minutes. */
const until = <T>(what: string, probe: () => Promise<T | undefined>) => pollUntil(what, probe, 180_000, 50);

describe('two compute workers without shared disk', () => {
  let stack: TestStack;
  let tracker: LiveTracker;
  const compute: ManagedProcess[] = [];

  before(async () => {
    stack = await startStack({ temporal: true, s3: true, store: 's3://patchwork-runs/cluster' });
    await new S3Storage(stack.settings.s3!, 'patchwork-runs', 'cluster').ensureBucket();
    const images = new S3Storage(stack.settings.s3!, 'images', 'train');
    await images.ensureBucket();
    for (const file of await patternImages(96)) await images.put(file.key, file.bytes);
    tracker = await startTracker(await mkdtemp(join(stack.home, 'tracker-')));
    stack.settings.tracker = { url: tracker.url, token: tracker.token };
    await stack.startWorker(TASK_QUEUES.io);
    for (let i = 0; i < 2; i++) compute.push(await stack.startWorker(TASK_QUEUES.gpu, { home: await mkdtemp(join(stack.home, `gpu-${i}-`)) }));
  });
  after(async () => {
    await tracker?.stop();
    await stack?.stop();
  });

  test('one dies mid-chunk and MinIO restarts: the other finishes with exact steps, logged once each', async () => {
    const client = await connectClient(stack.settings);
    const config = { input: { imshape: [64, 64], batch_size: 4 }, k: 4, pca_dim: 8, dense: [32], lr: 0.01 };
    const handle = await client.workflow.start(pretrainWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: 'pretrain-two-workers',
      args: [{ method: 'deepcluster', images: 's3://images/train', epochs: 2, stepsPerActivity: 24, checkpointEvery: 6, heartbeatTimeoutMs: 3_000, config, embed: false }],
    });
    const store = openStorage(stack.settings.store, stack.settings.s3);
    const latestStep = async () => (JSON.parse(Buffer.from(await store.get('runs/pretrain-two-workers/ckpt/LATEST')).toString('utf8')) as { step: number }).step;

    // The worker to kill is the one running the training chunk when a mid-chunk checkpoint lands.
    const { step: killedAt, pid } = await until('a mid-chunk checkpoint and the worker that wrote it', async () => {
      const step = await latestStep();
      if (step <= 0 || step % 24 === 0) return undefined;
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      const identity = pending.find((a) => a.lastWorkerIdentity && a.activityType?.name !== 'refitClusters')?.lastWorkerIdentity;
      // Workers name themselves <queue>@<host>:<pid>.
      const pid = Number(identity?.split(':').pop());
      return compute.some((w) => w.child.pid === pid) ? { step, pid } : undefined;
    });
    const victim = compute.find((w) => w.child.pid === pid)!;
    victim.child.kill('SIGKILL');
    await victim.exited;

    await until('a checkpoint written by the surviving worker', async () => ((await latestStep()) > killedAt ? true : undefined));
    await stack.restartS3();
    await until('progress after the MinIO restart', async () => ((await handle.query(pretrainProgressQuery)).step >= 30 ? true : undefined));

    const result = await handle.result();
    assert.equal(result.steps, 48, 'total steps equal the plan');
    const survivor = compute.find((w) => w !== victim)!;
    assert.equal(survivor.child.exitCode, null, 'the other compute worker kept running');

    const loss = (await eventAccumulatorScalars(join(tracker.logDir, 'pretrain-two-workers')))['train/loss'];
    assert.deepEqual(loss.map(([step]) => step), Array.from({ length: 48 }, (_, i) => i), 'TensorBoard shows one value per step');
  });
});
