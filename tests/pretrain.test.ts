import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { connectClient } from '../cli/temporal-client.ts';
import { pretrainWorkflow } from '../workflows/index.ts';
import { TASK_QUEUES } from '../contracts/task-queues.ts';
import { pauseSignal, pretrainProgressQuery, resumeSignal, setLearningRateSignal, stopSignal, type PretrainInput } from '../contracts/pretrain.ts';
import { readEmbeddings } from '../storage/embeddings.ts';
import { activeTf, initBackend } from '../ml/backend.ts';
import { checkpointKey, loadCheckpointAt, loadLatestCheckpoint } from '../ml/checkpoint.ts';
import { loadLayersModelFrom, parseLayersModelJson, weightsHash } from '../ml/model-artifacts.ts';
import { registerChannelWiseDense } from '../ml/methods/index.ts';
import { methodModelKey } from '../storage/layout.ts';
import { openStorage } from '../storage/index.ts';
import { writeFiles } from './helpers/images.ts';
import { eventAccumulatorImages, eventAccumulatorScalars, patternImages } from './helpers/pretrain.ts';
import { startStack, type TestStack } from './helpers/stack.ts';
import { startTracker, type LiveTracker } from './helpers/tracker.ts';

export const SMALL_DEEPCLUSTER = {
  input: { imshape: [64, 64], batch_size: 8 },
  augment: { left_right_flip: true, max_brightness_delta: 0.1 },
  k: 4,
  pca_dim: 8,
  dense: [32],
  lr: 0.01,
};

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A tracker for the stack's workers: pretraining logs only through it (the workers get its URL and token). */
async function withTracker(stack: TestStack): Promise<LiveTracker> {
  const tracker = await startTracker(join(stack.home, 'tracker'));
  stack.settings.tracker = { url: tracker.url, token: tracker.token };
  return tracker;
}

describe('pretrainWorkflow on real Temporal', () => {
  let stack: TestStack;
  let tracker: LiveTracker;
  let images: string;
  let testImages: string;
  before(async () => {
    stack = await startStack({ temporal: true, persistTemporal: true });
    tracker = await withTracker(stack);
    images = join(stack.home, 'images');
    testImages = join(stack.home, 'test-images');
    const files = await patternImages(24);
    await writeFiles(images, files);
    await writeFiles(testImages, (await patternImages(30)).slice(24));
    const rows = files.map((f) => `${f.key},${f.key.split('/')[0]}`);
    await writeFile(join(stack.home, 'labels.csv'), `filepath,label\n${rows.join('\n')}\n`);
    await stack.startWorker();
  });
  after(async () => {
    await tracker?.stop();
    await stack?.stop();
  });

  async function start(id: string, input: Partial<PretrainInput>) {
    const client = await connectClient(stack.settings);
    return client.workflow.start(pretrainWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: id,
      args: [{ method: 'deepcluster', images, epochs: 2, stepsPerActivity: 2, checkpointEvery: 2, config: SMALL_DEEPCLUSTER, embed: false, ...input } as PretrainInput],
    });
  }
  const scalarsOf = (id: string) => eventAccumulatorScalars(join(tracker.logDir, id));

  test('DeepCluster: two short epochs through the tracker, downstream probe, test loss, registered model, embeddings', async () => {
    const result = await (await start('pretrain-dc', { labels: join(stack.home, 'labels.csv'), testImages, embed: true })).result();
    assert.equal(result.steps, 2 * Math.ceil(24 / 8));
    assert.equal(result.stopped, false);
    assert.ok(existsSync(join(stack.settings.store, result.modelKey)), 'the feature extractor was exported');
    const scalars = await scalarsOf('pretrain-dc');
    const loss = scalars['train/loss'];
    assert.deepEqual(loss.map(([step]) => step), [0, 1, 2, 3, 4, 5], 'one loss per step');
    assert.ok(loss.every(([, v]) => Number.isFinite(v)), `finite losses: ${loss}`);
    assert.ok(scalars['deepcluster/kmeans_inertia'], 'refit metrics logged');
    assert.ok(scalars['deepcluster/nmi_with_previous'], 'NMI between successive assignments logged from the 2nd refit');
    const accuracy = scalars['downstream/linear_classification_accuracy'];
    assert.equal(accuracy.length, 2, 'one downstream evaluation per epoch');
    assert.ok(accuracy.every(([, v]) => v >= 0 && v <= 1));
    assert.ok(result.lastMetrics.linear_classification_accuracy !== undefined);
    const testLoss = scalars['test/crossentropy'];
    assert.deepEqual(testLoss.map(([step]) => step), [3, 6], 'out-of-sample loss at the end of each epoch');
    assert.ok(testLoss.every(([, v]) => Number.isFinite(v) && v >= 0), `finite test losses: ${testLoss}`);
    const testNmi = scalars['test/nmi'];
    assert.deepEqual(testNmi?.map(([step]) => step), [6], 'NMI of the test assignments from the second refit on');
    assert.ok(testNmi[0][1] >= 0 && testNmi[0][1] <= 1 + 1e-9, `test NMI in [0, 1]: ${testNmi}`);
    assert.equal(existsSync(join(stack.home, 'tensorboard', 'pretrain-dc')), false, 'the worker wrote no event files of its own');
    const waits = scalars['perf/input_wait_fraction'];
    assert.ok(waits?.length >= 1 && waits.every(([, v]) => v >= 0 && v <= 1), `input wait fraction per chunk: ${waits}`);
    assert.ok(scalars['perf/images_per_second']?.every(([, v]) => v > 0), 'images per second per chunk');
    const checkpointSeconds = scalars['perf/checkpoint_seconds'];
    assert.ok(checkpointSeconds?.length >= 2 && checkpointSeconds.every(([, v]) => v > 0), `seconds per checkpoint: ${checkpointSeconds}`);

    // The export is registered with the tracker: key, size and a hash that matches the files in the store.
    const run = (await (await fetch(`${tracker.url}/api/runs/pretrain-dc`, { headers: { authorization: `Bearer ${tracker.token}` } })).json()) as { status: string; model?: { key: string; sha256: string; bytes: number; step: number } };
    assert.equal(run.status, 'completed');
    assert.equal(run.model?.key, result.modelKey);
    assert.equal(run.model?.step, result.steps);
    const modelFiles = [await readFile(join(stack.settings.store, result.modelKey)), await readFile(join(stack.settings.store, 'runs/pretrain-dc/model/weights.bin'))];
    assert.equal(run.model?.sha256, createHash('sha256').update(modelFiles[0]).update(modelFiles[1]).digest('hex'));
    assert.equal(run.model?.bytes, modelFiles[0].length + modelFiles[1].length);
    assert.ok((await (await fetch(`${tracker.url}/runs/pretrain-dc`, { headers: { authorization: `Bearer ${tracker.token}` } })).text()).includes(run.model!.sha256), 'the run page shows the model');

    // Embedding after training: every training image has features stored under the exported model's hash.
    assert.ok(result.embeddings, 'the run embedded its images');
    const table = await readEmbeddings(openStorage(stack.settings.store), result.embeddings!.modelHash);
    assert.deepEqual(table.keys.slice().sort(), (await patternImages(24)).map((f) => f.key).sort());
    assert.ok(table.dim > 1 && table.data.length === 24 * table.dim && table.data.every(Number.isFinite), 'finite features for every image');

    // The worker process wrote both the last checkpoint and the exported model; read here, they hold the same bits.
    await initBackend({ purpose: 'infer' });
    const tf = activeTf();
    const checkpoint = await loadLatestCheckpoint(openStorage(stack.settings.store), 'runs/pretrain-dc/ckpt');
    assert.equal(checkpoint?.step, result.steps);
    const exported = await tf.loadLayersModel(`file://${join(stack.settings.store, result.modelKey)}`);
    const fcn = checkpoint!.models.model.getLayer('bn_alexnet_fcn') as unknown as typeof exported;
    const fromCheckpoint = fcn.getLayer('conv1').getWeights()[0].dataSync();
    const fromExport = exported.getLayer('conv1').getWeights()[0].dataSync();
    assert.deepEqual(Buffer.from(fromCheckpoint.buffer), Buffer.from(fromExport.buffer), 'identical conv1 weights');
    // DeepCluster's full network (extractor and head) is exported too, and loads with the checkpoint's weights.
    const full = await loadExportedPart(stack.settings.store, 'pretrain-dc', 'full');
    assert.equal(weightsHash(full), weightsHash(checkpoint!.models.model));
  });

  test('a run can start its extractor from a saved model: the step-0 checkpoint holds its weights', async () => {
    // The extractor pretrain-dc exported (the DeepCluster test above) seeds an IIC run.
    const source = join(stack.settings.store, 'runs/pretrain-dc/model/model.json');
    const config = { input: { imshape: [64, 64], batch_size: 8 }, k: 3, k_oc: 4, h: 1, r: 1, lr: 0.001 };
    // A multi-label file in the original's DataFrame layout, with absolute paths: striped (f0) and bright-centred (f2)
    // images overlap in no class, so rows carry zero, one or two 1s.
    const rows = (await patternImages(24)).map((f) => `${join(images, f.key)},${f.key.startsWith('f0') ? 1 : 0},${/^f[02]/.test(f.key) ? 1 : 0}`);
    const labels = join(stack.home, 'multi-labels.csv');
    await writeFile(labels, `filepath,striped,patterned\n${rows.join('\n')}\n`);
    const result = await (await start('pretrain-init', { method: 'iic', config, epochs: 1, initialModel: source, labels })).result();
    assert.ok(result.steps > 0);
    const scalars = await scalarsOf('pretrain-init');
    assert.equal(scalars['downstream/mean_auc']?.length, 1, `multi-label probe logged once: ${Object.keys(scalars)}`);
    assert.ok(scalars['downstream/auc/striped'] && scalars['downstream/auc/patterned'], 'an AUC per class');
    assert.equal(scalars['downstream/linear_classification_accuracy'], undefined);
    await initBackend({ purpose: 'infer' });
    const store = openStorage(stack.settings.store);
    const seed = await loadLayersModelFrom(store, 'runs/pretrain-dc/model/model.json', parseLayersModelJson(await store.get('runs/pretrain-dc/model/model.json')));
    const first = await loadCheckpointAt(store, checkpointKey('runs/pretrain-init/ckpt', 0));
    const fcn = first.models.model.layers.find((l) => l.name === seed.name) as unknown as typeof seed;
    assert.ok(fcn, `the IIC network contains the given extractor (${seed.name})`);
    assert.equal(weightsHash(fcn), weightsHash(seed), 'training started from the given weights');

    const missing = await start('pretrain-init-missing', { initialModel: join(stack.home, 'no-such-model.json') });
    await assert.rejects(missing.result(), (error: Error & { cause?: Error & { cause?: Error } }) => {
      assert.match(String(error.cause?.cause?.message ?? error.cause?.message), /initialModel: .*no-such-model\.json/);
      return true;
    });
  });

  for (const [method, config, testTag] of [
    ['iic', { input: { imshape: [64, 64], batch_size: 16 }, k: 4, k_oc: 8, h: 2, r: 2, lr: 0.001 }, 'test/head_0_loss'],
    ['context-encoder', { input: { imshape: [32, 32], batch_size: 8 }, augment: false, lr: 0.001 }, 'test/recon_loss'],
  ] as const) {
    test(`${method}: two short epochs, finite losses logged once per step, out-of-sample loss every epoch`, async () => {
      const id = `pretrain-${method}`;
      const result = await (await start(id, { method, config, testImages })).result();
      assert.equal(result.steps, 6);
      const scalars = await scalarsOf(id);
      assert.deepEqual(scalars[testTag]?.map(([step]) => step), [3, 6], `${testTag} at each epoch end: ${Object.keys(scalars)}`);
      assert.ok(scalars[testTag].every(([, v]) => Number.isFinite(v)), `${testTag} finite`);
      if (method === 'context-encoder') {
        // The inpainter and the discriminator are exported beside the encoder, each loadable again.
        registerChannelWiseDense();
        const checkpoint = await loadLatestCheckpoint(openStorage(stack.settings.store), `runs/${id}/ckpt`);
        assert.equal(weightsHash(await loadExportedPart(stack.settings.store, id, 'inpainter')), weightsHash(checkpoint!.models.model));
        assert.equal(weightsHash(await loadExportedPart(stack.settings.store, id, 'discriminator')), weightsHash(checkpoint!.models.discriminator!));
        // One grid per epoch: a row per test image (6), masked input | inpainted | original side by side.
        const images = await eventAccumulatorImages(join(tracker.logDir, id));
        assert.deepEqual(images['test/inpaints'], [[3, 3 * 32, 6 * 32], [6, 3 * 32, 6 * 32]]);
      }
      if (method === 'iic') {
        // The reference's joint-distribution images, k x k per head, at each epoch end.
        const images = await eventAccumulatorImages(join(tracker.logDir, id));
        for (const head of ['test/P_head_0', 'test/P_head_1']) assert.deepEqual(images[head], [[3, 4, 4], [6, 4, 4]], head);
        assert.deepEqual(images['test/P_oc_head_1'], [[3, 8, 8], [6, 8, 8]]);
      }
      const tags = Object.keys(scalars).filter((t) => t.startsWith('train/') && t !== 'train/learning_rate');
      assert.ok(tags.length > 0, `losses logged: ${Object.keys(scalars)}`);
      for (const tag of tags) {
        const steps = scalars[tag].map(([s]) => s);
        assert.equal(new Set(steps).size, steps.length, `${tag}: no step twice`);
        assert.ok(scalars[tag].every(([, v]) => Number.isFinite(v)), `${tag} finite`);
      }
    });
  }

  test('pause, learning rate, resume and stop take effect at checkpoints', async () => {
    const handle = await start('pretrain-signals', { epochs: 30, stepsPerActivity: 3, checkpointEvery: 3, config: { ...SMALL_DEEPCLUSTER, lr_decay: 0 } });
    await until('the first training activity', async () => ((await handle.query(pretrainProgressQuery)).step >= 3 ? true : undefined));
    await handle.signal(pauseSignal);
    await handle.signal(setLearningRateSignal, 0.005);
    const paused = await until('the pause', async () => {
      const p = await handle.query(pretrainProgressQuery);
      return p.phase === 'paused' ? p : undefined;
    });
    assert.equal(paused.step % 3, 0, 'paused at a checkpoint (the end of a training activity)');
    const again = await handle.query(pretrainProgressQuery);
    assert.equal(again.step, paused.step, 'no training while paused');
    await handle.signal(resumeSignal);
    await until('training after resume', async () => ((await handle.query(pretrainProgressQuery)).step > paused.step ? true : undefined));
    await handle.signal(stopSignal);
    const result = await handle.result();
    assert.equal(result.stopped, true);
    assert.ok(result.steps < 30 * 3 && result.steps % 3 === 0, `stopped early at a checkpoint (step ${result.steps})`);
    assert.ok(existsSync(join(stack.settings.store, result.modelKey)), 'a stopped run still exports its model');
    const lr = (await scalarsOf('pretrain-signals'))['train/learning_rate'];
    const before = lr.filter(([s]) => s < paused.step).map(([, v]) => v);
    const afterResume = lr.filter(([s]) => s >= paused.step).map(([, v]) => v);
    assert.ok(before.every((v) => Math.abs(v - 0.01) < 1e-9), `old rate before the pause (paused at ${paused.step}): ${JSON.stringify(lr)}`);
    assert.ok(afterResume.length > 0 && afterResume.every((v) => Math.abs(v - 0.005) < 1e-9), 'new rate from the next activity on');
  });
});

describe('pretraining survives a killed worker and a Temporal restart', () => {
  let stack: TestStack;
  let tracker: LiveTracker;
  let images: string;
  before(async () => {
    stack = await startStack({ temporal: true, persistTemporal: true });
    tracker = await withTracker(stack);
    images = join(stack.home, 'images');
    await writeFiles(images, await patternImages(96));
  });
  after(async () => {
    await tracker?.stop();
    await stack?.stop();
  });

  test('SIGKILL mid-epoch: a new worker resumes from the checkpoint, one value per step', async () => {
    const worker = await stack.startWorker();
    const client = await connectClient(stack.settings);
    const config = { ...SMALL_DEEPCLUSTER, input: { imshape: [64, 64], batch_size: 4 } };
    const handle = await client.workflow.start(pretrainWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: 'pretrain-sigkill',
      args: [{ method: 'deepcluster', images, epochs: 2, stepsPerActivity: 24, checkpointEvery: 6, heartbeatTimeoutMs: 3_000, config, embed: false }],
    });
    // Kill as soon as a mid-chunk checkpoint appears: the worker is then inside a training activity (24 steps) with
    // later steps not yet checkpointed.
    const latest = join(stack.settings.store, 'runs', 'pretrain-sigkill', 'ckpt', 'LATEST');
    const killedAt = await until('a checkpoint in the middle of a training activity', async () => {
      const step = (JSON.parse(await readFile(latest, 'utf8')) as { step: number }).step;
      return step > 0 && step % 24 !== 0 ? step : undefined;
    });
    worker.child.kill('SIGKILL');
    const killedTime = Date.now();
    await worker.exited;
    // A new worker that restarted from step 0 would rewrite these checkpoints; one that resumes leaves them alone.
    const ckptDir = join(stack.settings.store, 'runs', 'pretrain-sigkill', 'ckpt');
    const checkpointsBeforeKill = await checkpointFiles(ckptDir, killedAt);
    await stack.startWorker();
    await until('a checkpoint written by the new worker', async () => {
      const step = (JSON.parse(await readFile(latest, 'utf8')) as { step: number }).step;
      return step > killedAt ? step : undefined;
    });
    console.log(`resume after SIGKILL: ${((Date.now() - killedTime) / 1000).toFixed(1)} s from the kill to the new worker's first checkpoint (heartbeat timeout 3 s, includes starting a worker process)`);
    await until('progress after the restart', async () => ((await handle.query(pretrainProgressQuery)).step >= 24 ? true : undefined));
    await stack.restartTemporal();
    const result = await handle.result();
    assert.equal(result.steps, 48, 'total steps equal the plan');

    assert.ok(Object.keys(checkpointsBeforeKill).length >= 2, `checkpoints up to step ${killedAt}: ${Object.keys(checkpointsBeforeKill)}`);
    assert.deepEqual(await checkpointFiles(ckptDir, killedAt), checkpointsBeforeKill, 'the new worker resumed at the checkpoint, not at 0');

    const runDir = join(tracker.logDir, 'pretrain-sigkill');
    const loss = (await eventAccumulatorScalars(runDir))['train/loss'];
    assert.deepEqual(loss.map(([step]) => step), Array.from({ length: 48 }, (_, i) => i), 'TensorBoard shows one value per step');
  });
});

/** A method network a run exported next to its extractor (runs/<run>/model/<name>.model.json). */
async function loadExportedPart(location: string, runId: string, name: string) {
  await initBackend({ purpose: 'infer' });
  const store = openStorage(location);
  const key = methodModelKey(runId, name);
  return loadLayersModelFrom(store, key, parseLayersModelJson(await store.get(key)));
}

/** Files of the checkpoints at steps 1..upTo, with size and modification time, by path. */
async function checkpointFiles(dir: string, upTo: number): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true })) {
    const step = Number(entry.split('/')[0]);
    if (!Number.isInteger(step) || step < 1 || step > upTo) continue;
    const info = await stat(join(dir, entry));
    if (info.isFile()) found[entry] = `${info.size}@${info.mtimeMs}`;
  }
  return found;
}

describe('a pretraining worker without a tracker token', () => {
  let stack: TestStack;
  let images: string;
  before(async () => {
    stack = await startStack({ temporal: true });
    stack.settings.tracker = { url: stack.settings.tracker.url };
    images = join(stack.home, 'images');
    await writeFiles(images, await patternImages(8));
    await stack.startWorker();
  });
  after(async () => stack?.stop());

  test('its first logging activity fails (and is retried), naming the setting to fix', async () => {
    const client = await connectClient(stack.settings);
    const handle = await client.workflow.start(pretrainWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: 'pretrain-no-tracker',
      args: [{ method: 'iic', images, epochs: 1, embed: false, config: { input: { imshape: [32, 32], batch_size: 4 }, k: 2, k_oc: 3, h: 1 } }],
    });
    const failure = await until('a failed attempt of the training activity', async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      return pending.find((a) => a.lastFailure?.message)?.lastFailure?.message ?? undefined;
    });
    assert.match(failure, /pretraining run pretrain-no-tracker logs through the tracker, but this worker has no tracker token/);
    assert.match(failure, /patchwork up.*PATCHWORK_TOKEN/);
    await handle.terminate('test done');
  });
});
