// `embedWorkflow` with featureMaps on real Temporal: the extractor's last feature map of every image, unpooled, under a
// model hash of its own (never mixed with the same model's pooled vectors), a size guard that names the fix, and a
// pool head trained on what was stored.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectClient } from '../cli/temporal-client.ts';
import { embedWorkflow } from '../workflows/index.ts';
import { TASK_QUEUES } from '../contracts/task-queues.ts';
import type { EmbedInput } from '../contracts/embed.ts';
import { readEmbeddings } from '../storage/embeddings.ts';
import { openStorage } from '../storage/index.ts';
import { initBackend } from '../ml/backend.ts';
import { averagePoolMaps, emptyTable } from '../ml/active/index.ts';
import { fitRound } from '../ml/active/round-compute.ts';
import { saveTinyFeatureModel } from './helpers/feature-model.ts';
import { writeFiles } from './helpers/images.ts';
import { patternImages } from './helpers/pretrain.ts';
import { startStack, type TestStack } from './helpers/stack.ts';
import { startTracker, type LiveTracker } from './helpers/tracker.ts';

let stack: TestStack;
let tracker: LiveTracker;
let images: string;
let modelPath: string;
before(async () => {
  stack = await startStack({ temporal: true });
  tracker = await startTracker(join(stack.home, 'tracker-home'));
  stack.settings.tracker = { url: tracker.url, token: tracker.token };
  images = join(stack.home, 'images');
  await writeFiles(images, await patternImages(12));
  modelPath = await saveTinyFeatureModel(join(stack.home, 'model'));
  await stack.startWorker();
});
after(async () => {
  await tracker?.stop();
  await stack?.stop();
});

async function embed(id: string, input: Partial<EmbedInput>) {
  const client = await connectClient(stack.settings);
  return client.workflow.execute(embedWorkflow, {
    taskQueue: TASK_QUEUES.io,
    workflowId: id,
    // 32 px through two 3x3 stride-2 convolutions: 7 x 7 maps of 12 channels.
    args: [{ source: images, model: { path: modelPath }, input: { imshape: [32, 32] }, chunkSize: 5, batchSize: 4, projectorLimit: 0, ...input } as EmbedInput],
  });
}

test('feature maps are stored unpooled under their own hash; their average is the pooled embedding', async () => {
  const pooled = await embed('embed-pooled', {});
  const maps = await embed('embed-maps', { featureMaps: true, projectorLimit: 5, projectorPooling: 'avg' });
  assert.equal(pooled.dim, 12);
  assert.equal(pooled.mapShape, undefined);
  assert.deepEqual(maps.mapShape, [7, 7, 12]);
  assert.equal(maps.dim, 7 * 7 * 12);
  assert.notEqual(maps.modelHash, pooled.modelHash, 'maps and vectors of one model never share a folder');
  assert.match(maps.modelHash, /^[0-9a-f]{16}$/);
  assert.equal(maps.embedded, 12, 'no image counts as done because the pooled run embedded it');
  assert.equal(maps.projectorPoints, 5);

  const store = openStorage(stack.settings.store);
  const vectors = await readEmbeddings(store, pooled.modelHash);
  const table = await readEmbeddings(store, maps.modelHash);
  assert.deepEqual(table.mapShape, [7, 7, 12]);
  assert.deepEqual([...table.keys].sort(), [...vectors.keys].sort());
  const averaged = averagePoolMaps(table.data, table.mapShape!);
  for (const [i, key] of table.keys.entries()) {
    const j = vectors.keys.indexOf(key);
    for (let c = 0; c < 12; c++)
      assert.ok(Math.abs(averaged[i * 12 + c]! - vectors.data[j * 12 + c]!) < 1e-4, `${key} channel ${c}: the map's mean is the pooled value`);
  }
  const projector = join(tracker.logDir, 'embed-maps', 'projector', `embeddings-${maps.modelHash}`);
  const tensors = existsSync(join(projector, 'tensors.bytes'))
    ? readFileSync(join(projector, 'tensors.bytes')).length / 4
    : readFileSync(join(projector, 'tensors.tsv'), 'utf8').trim().split(/\s+/).length;
  assert.equal(tensors, 5 * 12, 'the projector shows the maps average-pooled');

  await initBackend({ purpose: 'train' });
  const labels = emptyTable(table.keys.length, ['bright']);
  labels.labels.set([1, 0, 1, 0, 1, 0]);
  const fitted = fitRound({ features: table.data, table: labels, head: { kind: 'pool', epochs: 1, samplesPerEpoch: 16 }, seed: 1, round: 0, mapShape: table.mapShape });
  assert.equal(fitted.head.predict(table.data).length, table.keys.length);
  fitted.head.dispose();
});

test('maps over the size limit are refused before embedding, naming the ways out', async () => {
  await assert.rejects(embed('embed-too-big', { featureMaps: true, maxMapValues: 100 }), (error: Error) => {
    const message = String((error as { cause?: { cause?: Error } }).cause?.cause?.message);
    assert.match(message, /7 x 7 x 12 = 588 values per image exceed the limit of 100.*--max-map-values 588.*without --feature-maps/);
    return true;
  });
});
