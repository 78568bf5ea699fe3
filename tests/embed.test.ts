import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectClient } from '../cli/temporal-client.ts';
import { embedWorkflow, pretrainWorkflow } from '../workflows/index.ts';
import { TASK_QUEUES } from '../contracts/task-queues.ts';
import { type PretrainInput } from '../contracts/pretrain.ts';
import type { EmbedInput } from '../contracts/embed.ts';
import { readEmbeddings } from '../storage/embeddings.ts';
import { activeTf, initBackend } from '../ml/backend.ts';
import { parseInputOptions } from '../ml/data/index.ts';
import { loadStepBatch } from '../ml/methods/plan.ts';
import { openStorage } from '../storage/index.ts';
import { writeFiles } from './helpers/images.ts';
import { patternImages } from './helpers/pretrain.ts';
import { startStack, type TestStack } from './helpers/stack.ts';
import { startTracker, type LiveTracker } from './helpers/tracker.ts';
import { pollUntil, startTensorBoard } from './helpers/tensorboard.ts';

const SMALL_DEEPCLUSTER = {
  // 96 px gives 2 x 2 feature maps, so max and average pooling differ.
  input: { imshape: [96, 96], batch_size: 8 },
  augment: { left_right_flip: true, max_brightness_delta: 0.1 },
  k: 4,
  pca_dim: 8,
  dense: [32],
  lr: 0.01,
};

describe('embedWorkflow on real Temporal', () => {
  let stack: TestStack;
  let tracker: LiveTracker;
  let images: string;
  before(async () => {
    stack = await startStack({ temporal: true });
    // Pretraining and the projector go through the tracker, which keeps its files apart from the worker's home (as a
    // tracker on another machine would).
    tracker = await startTracker(join(stack.home, 'tracker-home'));
    stack.settings.tracker = { url: tracker.url, token: tracker.token };
    images = join(stack.home, 'images');
    await writeFiles(images, await patternImages(16));
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
      args: [{ source: images, model: { run: 'pre' }, chunkSize: 6, batchSize: 4, ...input } as EmbedInput],
    });
  }

  test('a DeepCluster export embeds every image once, later runs only new ones, TensorBoard lists the projector', async () => {
    const client = await connectClient(stack.settings);
    const pre = await client.workflow.execute(pretrainWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: 'pre',
      args: [
        {
          method: 'deepcluster',
          images,
          epochs: 1,
          stepsPerActivity: 2,
          checkpointEvery: 2,
          config: SMALL_DEEPCLUSTER,
          embed: false,
        } as PretrainInput,
      ],
    });
    assert.equal(pre.stopped, false);

    const first = await embed('embed-1', {});
    assert.equal(first.total, 16);
    assert.equal(first.embedded, 16);
    assert.equal(first.alreadyDone, 0);
    assert.equal(first.parts, 3, '16 images in chunks of 6');
    assert.equal(first.skipped, 0);
    assert.match(first.modelHash, /^[0-9a-f]{16}$/);
    const store = openStorage(stack.settings.store, stack.settings.s3);
    let table = await readEmbeddings(store, first.modelHash);
    assert.deepEqual(table.keys.slice().sort(), (await patternImages(16)).map((f) => f.key).sort());
    assert.equal(table.dim, first.dim);
    assert.ok(first.dim > 1, `feature dim ${first.dim}`);
    assert.equal(table.data.length, 16 * first.dim);
    assert.ok(table.data.every(Number.isFinite), 'finite features');
    const row = (i: number) => Array.from(table.data.subarray(i * table.dim, (i + 1) * table.dim));
    assert.notDeepEqual(row(0), row(1), 'different images of different families get different features');

    const second = await embed('embed-2', {});
    assert.deepEqual(
      [second.modelHash, second.embedded, second.alreadyDone, second.parts],
      [first.modelHash, 0, 16, 0],
    );

    const added = (await patternImages(19)).slice(16).map((f) => ({ ...f, key: `new/${f.key}` }));
    await writeFiles(images, added);
    const third = await embed('embed-3', { projectorLimit: 10, projectorPooling: 'avg' });
    assert.deepEqual([third.embedded, third.alreadyDone, third.total, third.parts], [3, 16, 19, 1]);
    table = await readEmbeddings(store, first.modelHash);
    assert.equal(table.keys.length, 19);
    for (const f of added) assert.ok(table.keys.includes(f.key), `${f.key} embedded`);

    // Projector files of the first run: every image, with its key in the metadata.
    const runDir = join(tracker.logDir, 'embed-1');
    assert.equal(first.projectorDir, `${tracker.url}/runs/embed-1`);
    assert.ok(!existsSync(join(stack.home, 'tensorboard', 'embed-1')), 'the worker writes no projector files itself');
    assert.equal(first.projectorPoints, 16);
    const folder = join(runDir, 'projector', `embeddings-${first.modelHash}`);
    assert.ok(existsSync(join(runDir, 'projector_config.pbtxt')));
    assert.ok(existsSync(join(folder, 'sprite.png')));
    assert.ok(existsSync(join(folder, 'tensors.bytes')) || existsSync(join(folder, 'tensors.tsv')));
    const metadata = readFileSync(join(folder, 'metadata.tsv'), 'utf8').trim().split('\n');
    assert.equal(metadata[0], 'key\tfolder');
    assert.deepEqual(
      metadata
        .slice(1)
        .map((l) => l.split('\t')[0])
        .sort(),
      table.keys.filter((k) => !k.startsWith('new/')).sort(),
    );
    assert.equal(third.projectorPoints, 10, 'projectorLimit caps the points');

    // The projector's points are max-pooled feature maps by default (as the original's), the stored rows with avg.
    const projectorRows = (run: string) => {
      const dir = join(tracker.logDir, run, 'projector', `embeddings-${first.modelHash}`);
      const keys = readFileSync(join(dir, 'metadata.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t')[0]!);
      const values = existsSync(join(dir, 'tensors.bytes'))
        ? new Float32Array(new Uint8Array(readFileSync(join(dir, 'tensors.bytes'))).buffer)
        : Float32Array.from(readFileSync(join(dir, 'tensors.tsv'), 'utf8').trim().split(/\s+/).map(Number));
      return new Map(keys.map((k, i) => [k, Array.from(values.subarray(i * table.dim, (i + 1) * table.dim))]));
    };
    const stored = (key: string) => Array.from(table.data.subarray(table.keys.indexOf(key) * table.dim, (table.keys.indexOf(key) + 1) * table.dim));
    const close = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= 1e-5 * Math.max(1, Math.abs(b[i]!)));
    for (const [key, values] of projectorRows('embed-3')) assert.ok(close(values, stored(key)), `avg: ${key} is its stored row`);
    await initBackend({ purpose: 'infer' });
    const tf = activeTf();
    const exported = await tf.loadLayersModel(`file://${join(stack.settings.store, 'runs/pre/model/model.json')}`);
    const inputOptions = parseInputOptions(JSON.parse(readFileSync(join(stack.settings.store, 'runs/pre/model/model.json'), 'utf8')).userDefinedMetadata.input);
    const maxRows = projectorRows('embed-1');
    for (const [key, values] of maxRows) {
      const batch = await loadStepBatch({ keys: [key], read: async (k) => readFileSync(join(images, k)), input: inputOptions, augment: null, seed: 0, step: 0 });
      const expected = tf.tidy(() => tf.max(exported.predict(tf.tensor4d(batch.images, batch.shape)) as never, [1, 2]).dataSync());
      assert.ok(close(values, Array.from(expected)), `max: ${key} is its max-pooled feature map`);
      assert.ok(!close(values, stored(key)), `max differs from the stored average for ${key}`);
    }

    const board = await startTensorBoard(tracker.logDir, { loadFast: false });
    try {
      const runs = await pollUntil('the projector plugin to list the embedding runs', async () => {
        const r = await board.getJson<string[]>('/data/plugin/projector/runs');
        return r.status === 200 && r.body.includes('embed-1') && r.body.includes('embed-3')
          ? r.body
          : undefined;
      });
      assert.ok(!runs.includes('pre'), 'a run without a projector is not listed');
      const info = await board.getJson<{ embeddings: { tensorName: string; tensorShape: number[] }[] }>(
        '/data/plugin/projector/info?run=embed-1',
      );
      assert.deepEqual(
        info.body.embeddings.map((e) => [e.tensorName, e.tensorShape]),
        [[`embeddings-${first.modelHash}`, [16, first.dim]]],
      );
    } finally {
      await board.stop();
    }
  });

  test('a model that is not an exported run fails at once, naming it', async () => {
    await assert.rejects(embed('embed-missing', { model: { run: 'no-such-run' } }), (error: Error) => {
      const message = String((error as { cause?: { cause?: Error } }).cause?.cause?.message);
      assert.match(message, /no-such-run/);
      return true;
    });
  });
});
