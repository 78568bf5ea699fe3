// activities/session-cache + training-session without Temporal: consecutive chunks on one worker reuse the open session
// (model, optimizer, batch stream) and end exactly where a session restored from the store ends; a LATEST that moved
// elsewhere makes the worker restore; maxSeconds ends a chunk early with a checkpoint; at most MAX_CACHED_SESSIONS
// stay open. Needs the real tracker (the session logs through it).
import { after, before, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latestCheckpointStep, loadLatestCheckpoint } from '../ml/checkpoint.ts';
import { epochPlan } from '../ml/methods/plan.ts';
import { validatePretrainRequest } from '../ml/methods/run-config.ts';
import { closeDecodePool } from '../ml/data/index.ts';
import { LocalStorage, openStorage } from '../storage/index.ts';
import { checkpointPrefix } from '../storage/layout.ts';
import { saveRunInputs } from '../storage/pretrain-run.ts';
import { cachedTrainingSessions, closeTrainingSession, MAX_CACHED_SESSIONS, withTrainingSession } from '../activities/session-cache.ts';
import type { SessionDeps, TrainingSession } from '../activities/training-session.ts';
import { writeFiles } from './helpers/images.ts';
import { patternImages } from './helpers/pretrain.ts';
import { startTracker, type LiveTracker } from './helpers/tracker.ts';

const home = mkdtempSync(join(tmpdir(), 'patchwork-session-cache-'));
const images = join(home, 'images');
const store = new LocalStorage(join(home, 'store'));
// 64 images, 8 per step (16 pairs): an epoch of 8 steps holds every chunk below.
const config = { input: { imshape: [64, 64], batch_size: 16 }, k: 4, k_oc: 8, h: 2, r: 2, lr: 0.001 };
let tracker: LiveTracker;
let deps: SessionDeps;
/** A session that closes with logs the tracker refused says so on console.warn. */
const warnings: string[] = [];

before(async () => {
  mock.method(console, 'warn', (...args: unknown[]) => warnings.push(args.map(String).join(' ')));
  tracker = await startTracker(join(home, 'tracker'));
  deps = { store, openSource: (location) => openStorage(location), tracker: { url: tracker.url, token: tracker.token }, spoolDir: join(home, 'spool') };
  const files = await patternImages(64, 48);
  await writeFiles(images, files);
  for (const runId of ['cached', 'other-1', 'other-2']) await prepare(runId, files.map((f) => f.key).sort());
});

after(async () => {
  for (const runId of cachedTrainingSessions()) await closeTrainingSession(runId);
  await closeDecodePool();
  await tracker?.stop();
  rmSync(home, { recursive: true, force: true });
});

async function prepare(runId: string, keys: string[]): Promise<void> {
  const run = validatePretrainRequest({ method: 'iic', config, epochs: 2 });
  const { stepsPerEpoch, imagesPerStep, refitEvery } = epochPlan({ method: 'iic', files: keys.length, batchSize: run.input.batch_size, r: config.r });
  const plan = { files: keys.length, stepsPerEpoch, imagesPerStep, totalSteps: 2 * stepsPerEpoch, refitEvery, hasLabels: false, testFiles: 0 };
  await saveRunInputs(store, { version: 1, runId, method: 'iic', images, input: run.input, augment: run.augment, methodConfig: run.method, seed: 3, epochs: 2, plan }, keys, []);
}

/** One trainSteps activity's work on this worker; returns the session it ran on. */
async function chunk(runId: string, fromStep: number, toStep: number, maxSeconds?: number): Promise<{ session: TrainingSession; step: number }> {
  return withTrainingSession(deps, runId, async (session) => {
    const { step } = await session.train({ fromStep, toStep, maxSeconds }, { signal: new AbortController().signal, onProgress: () => {} });
    return { session, step };
  });
}

const finite = (weights: Buffer[]) => weights.every((b) => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4).every(Number.isFinite));

const latestWeights = async (runId: string) => {
  const checkpoint = (await loadLatestCheckpoint(store, checkpointPrefix(runId)))!;
  return { step: checkpoint.step, weights: checkpoint.models.model!.getWeights().map((w) => Buffer.from((w.dataSync() as Float32Array).slice().buffer)) };
};

test('the next chunk reuses the session and ends where a restore from the store ends', async () => {
  const first = await chunk('cached', 0, 3);
  const pointerAt3 = await store.get(`${checkpointPrefix('cached')}/LATEST`);
  const second = await chunk('cached', 3, 6);
  assert.equal(second.session, first.session, 'same worker, LATEST at the step it holds: the session goes on');
  assert.equal(second.step, 6);
  const continued = await latestWeights('cached');
  assert.equal(continued.step, 6);
  assert.ok(finite(continued.weights), 'training stays finite, so comparing weights means something');

  // Another worker's LATEST (here: back at step 3) does not match the step the session holds: restore from the store.
  await store.put(`${checkpointPrefix('cached')}/LATEST`, pointerAt3);
  const restored = await chunk('cached', 3, 6);
  assert.notEqual(restored.session, first.session);
  assert.equal(restored.step, 6);
  const again = await latestWeights('cached');
  assert.deepEqual(again.weights, continued.weights, 'a cached session trains exactly what a restored one trains');
});

test('maxSeconds ends a chunk at the first step after it, with a checkpoint there', async () => {
  const { step } = await chunk('cached', 6, 12, 0);
  assert.equal(step, 7);
  assert.equal(await latestCheckpointStep(store, checkpointPrefix('cached')), 7);
});

test(`at most ${MAX_CACHED_SESSIONS} sessions stay open; the least recently used one is closed`, async () => {
  assert.deepEqual(cachedTrainingSessions(), ['cached']);
  await chunk('other-1', 0, 1);
  await chunk('other-2', 0, 1);
  assert.deepEqual(cachedTrainingSessions(), ['other-1', 'other-2']);
  const { session } = await chunk('cached', 7, 8);
  assert.equal(session.step, 8, 'the closed run restores from its checkpoint');
  assert.deepEqual(cachedTrainingSessions(), ['other-2', 'cached']);
});

test('the tracker took every log item of every session', async () => {
  for (const runId of cachedTrainingSessions()) await closeTrainingSession(runId);
  assert.deepEqual(warnings, []);
});
