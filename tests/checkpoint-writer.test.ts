// activities/checkpoint-writer: checkpoints stored while training goes on. LATEST moves only once a checkpoint's files
// and whatever must precede it are stored, in step order, and a failed write is reported by durable().
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import { initBackend, type Tf } from '../ml/backend.ts';
import { latestCheckpointStep, loadLatestCheckpoint, snapshotCheckpoint, type CheckpointStore } from '../ml/checkpoint.ts';
import { smallResNet } from '../ml/models/index.ts';
import { LocalStorage } from '../storage/index.ts';
import { CheckpointWriter } from '../activities/checkpoint-writer.ts';

let tf: Tf;
const dir = mkdtempSync(join(tmpdir(), 'patchwork-ckpt-writer-'));
before(async () => {
  tf = (await initBackend({ purpose: 'train', force: 'tensorflow' })).tf;
});
after(() => rmSync(dir, { recursive: true, force: true }));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A local store whose puts wait for `gate` while it is set, and fail for keys matching `failOn`. */
function gatedStore(name: string) {
  const local = new LocalStorage(join(dir, name));
  const control: { gate?: Promise<void>; failOn?: RegExp; puts: string[] } = { puts: [] };
  const store: CheckpointStore = {
    get: (key) => local.get(key),
    exists: (key) => local.exists(key),
    put: async (key, data) => {
      control.puts.push(key);
      await control.gate;
      if (control.failOn?.test(key)) throw new Error(`disk full writing ${key}`);
      await local.put(key, data);
    },
  };
  return { store, control };
}

const firstWeight = (model: LayersModel) => Array.from(model.weights[0]!.read().dataSync() as Float32Array);

function shiftWeights(model: LayersModel, by: number): void {
  model.setWeights(model.getWeights().map((w) => tf.tidy(() => tf.add(w, by))));
}

test('training goes on while a checkpoint is stored; LATEST moves only after its files and the logs before it', async () => {
  const { store, control } = gatedStore('background');
  const model = smallResNet({ channels: 3, widths: [4, 8] });
  const writer = new CheckpointWriter(store, 'p', 0);
  const gate = deferred();
  control.gate = gate.promise;
  const logs = deferred();
  const logsAskedFor = deferred();

  const atSnapshot = firstWeight(model);
  await writer.start(await snapshotCheckpoint({ step: 5, epoch: 0, models: { model } }), async () => {
    logsAskedFor.resolve();
    await logs.promise;
  });
  // start() returned with the store still blocked: the next steps may change the weights meanwhile.
  shiftWeights(model, 1);
  assert.notDeepEqual(firstWeight(model), atSnapshot);
  assert.equal(await latestCheckpointStep(store, 'p'), 0, 'nothing stored yet');

  let durable = false;
  const done = writer.durable().then(() => (durable = true));
  gate.resolve();
  await logsAskedFor.promise;
  assert.equal(await latestCheckpointStep(store, 'p'), 0, 'files stored, but LATEST waits for the logs');
  assert.equal(durable, false);
  assert.ok(!control.puts.includes('p/LATEST'));

  logs.resolve();
  await done;
  assert.equal(writer.durableStep, 5);
  const loaded = (await loadLatestCheckpoint(store, 'p'))!;
  assert.equal(loaded.step, 5);
  assert.deepEqual(firstWeight(loaded.models.model!), atSnapshot, 'the checkpoint holds the weights of its step');
});

test('checkpoints are stored in step order; a failed one is reported and LATEST stays on the last complete one', async () => {
  const { store, control } = gatedStore('order');
  const model = smallResNet({ channels: 3, widths: [4, 8] });
  const written: number[] = [];
  const writer = new CheckpointWriter(store, 'p', 0, (step) => written.push(step));
  const gate = deferred();
  control.gate = gate.promise;
  await writer.start(await snapshotCheckpoint({ step: 2, epoch: 0, models: { model } }));
  const second = writer.start(await snapshotCheckpoint({ step: 4, epoch: 0, models: { model } }));
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(control.puts.some((key) => key.startsWith('p/2/')));
  assert.ok(!control.puts.some((key) => key.startsWith('p/4/')), 'the second checkpoint waits until the first is stored');
  gate.resolve();
  await second;
  await writer.durable();
  assert.deepEqual(written, [2, 4]);
  assert.equal(await latestCheckpointStep(store, 'p'), 4);

  control.failOn = /\/6\/optimizer\.bin$/;
  await writer.start(await snapshotCheckpoint({ step: 6, epoch: 0, models: { model } }));
  await assert.rejects(writer.durable(), /disk full writing p\/6\/optimizer\.bin/);
  await assert.rejects(writer.durable(), /disk full/, 'the failure stays: the activity must not report step 6');
  assert.equal(await latestCheckpointStep(store, 'p'), 4);
  assert.equal(writer.durableStep, 4);
});
