import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { settingsToEnv } from '../config/settings.ts';
import { runCli } from './helpers/cli.ts';
import { connectClient } from '../cli/temporal-client.ts';
import { activeLearningWorkflow, embedWorkflow } from '../workflows/index.ts';
import { TASK_QUEUES } from '../contracts/task-queues.ts';
import { activeLearningStatusQuery, activeLearningWorkflowId, retrainSignal, stopActiveLearningSignal, type ActiveLearningInput } from '../contracts/active-learning.ts';
import { binaryEntropy } from '../ml/active/query.ts';
import { openStorage } from '../storage/index.ts';
import { roundHeadKey } from '../storage/layout.ts';
import { LabelStore } from '../tracker/labels/store.ts';
import { writeFiles } from './helpers/images.ts';
import { saveTinyFeatureModel } from './helpers/feature-model.ts';
import { eventAccumulatorScalars, patternImages } from './helpers/pretrain.ts';
import { startStack, type TestStack } from './helpers/stack.ts';
import { pollUntil } from './helpers/tensorboard.ts';
import { untilRound } from './helpers/active-learning.ts';
import { startTracker, type LiveTracker } from './helpers/tracker.ts';

// Two classes over the four pattern families: stripes (family 0) and round (family 2).
const truth = (key: string) => ({
  stripes: key.startsWith('f0/') ? 1 : 0,
  round: key.startsWith('f2/') ? 1 : 0,
});

describe('activeLearningWorkflow on real Temporal and a real tracker', () => {
  let stack: TestStack;
  let tracker: LiveTracker;
  let keys: string[];
  let modelHash: string;
  let modelPath: string;
  let worker: Awaited<ReturnType<TestStack['startWorker']>>;
  before(async () => {
    stack = await startStack({ temporal: true });
    tracker = await startTracker(join(stack.home, 'tracker'), undefined, {
      TEMPORAL_ADDRESS: stack.settings.temporal.address,
    });
    stack.settings.tracker = { url: tracker.url, token: tracker.token };
    const files = await patternImages(24, 32);
    keys = files.map((f) => f.key).sort();
    await writeFiles(join(stack.home, 'images'), files);
    const model = (modelPath = await saveTinyFeatureModel(join(stack.home, 'user-model')));
    worker = await stack.startWorker();
    const client = await connectClient(stack.settings);
    const embedded = await client.workflow.execute(embedWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: 'embed-al',
      args: [
        {
          source: join(stack.home, 'images'),
          model: { path: model },
          input: { imshape: [32, 32] },
          projectorLimit: 0,
        },
      ],
    });
    assert.equal(embedded.embedded, 24);
    modelHash = embedded.modelHash;
  });
  after(async () => {
    await tracker?.stop();
    await stack?.stop();
  });

  async function api(method: string, path: string, body?: unknown, contentType = 'application/json') {
    const response = await fetch(`${tracker.url}/projects${path}`, {
      method,
      headers: { authorization: `Bearer ${tracker.token}`, 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
    return response.json();
  }
  async function createProject(id: string) {
    await api('POST', '', { id });
    await api('POST', `/${id}/images`, { images: keys.map((key) => ({ key })) });
    for (const name of ['stripes', 'round']) await api('POST', `/${id}/classes`, { name });
  }
  async function label(project: string, key: string) {
    for (const [cls, value] of Object.entries(truth(key)))
      await api('POST', `/${project}/labels`, { key, class: cls, value: String(value) });
  }
  /** Published predictions, read from the tracker's own database. */
  function predictions(project: string): Map<string, number[]> {
    const store = LabelStore.open(join(tracker.home, 'labels.db'));
    try {
      const classes = store.classes(project);
      const byId = store.predictions(project);
      return new Map(
        store
          .table(project)
          .flatMap((row) =>
            byId.has(row.id) ? [[row.key, classes.map((c) => byId.get(row.id)!.get(c.id)!)]] : [],
          ),
      );
    } finally {
      store.close();
    }
  }
  async function queue(workflowId: string): Promise<string[]> {
    const store = openStorage(stack.settings.store, stack.settings.s3);
    return (
      JSON.parse((await store.get(`runs/${workflowId}/queue.json`)).toString('utf8')) as { keys: string[] }
    ).keys;
  }
  async function start(workflowId: string, input: Partial<ActiveLearningInput>) {
    const client = await connectClient(stack.settings);
    return client.workflow.start(activeLearningWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId,
      args: [
        {
          project: 'p1',
          modelHash,
          pollIntervalMs: 500,
          head: { epochs: 3, samplesPerEpoch: 128 },
          ...input,
        } as ActiveLearningInput,
      ],
    });
  }

  test('new labels start a round, a signal starts another after a worker restart; excluded images never queued', async () => {
    await createProject('p1');
    const labelled = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => keys[i * 3]!); // spans all four families
    for (const key of labelled) await label('p1', key);
    const excluded = keys.filter((k) => !labelled.includes(k)).slice(0, 3);
    for (const key of excluded) await api('POST', '/p1/flags', { key, flag: 'exclude', value: '1' });

    const handle = await start('al-p1', { minNewLabels: 6 });
    const first = await untilRound(handle, 1);
    assert.equal(first.last!.round, 1);
    assert.equal(first.last!.labelled, 16, '8 images x 2 classes');
    assert.deepEqual(
      first.last!.classes.map((c) => c.name),
      ['stripes', 'round'],
    );
    for (const c of first.last!.classes)
      assert.ok(c.auc === null || (c.auc >= 0 && c.auc <= 1), `auc ${c.auc}`);
    assert.equal(first.last!.missingEmbeddings, 0);

    const published = predictions('p1');
    assert.deepEqual([...published.keys()].sort(), keys, 'a prediction for every image');
    for (const p of published.values()) assert.ok(p.every((v) => v >= 0 && v <= 1));
    const expectedQueue = keys.filter((k) => !labelled.includes(k) && !excluded.includes(k));
    let q = await queue('al-p1');
    assert.deepEqual(
      q.slice().sort(),
      expectedQueue,
      'the queue is every unlabeled, not excluded image, once',
    );
    assert.deepEqual(q.slice(0, first.last!.queueHead.length), first.last!.queueHead);

    const scalars = await pollUntil('round metrics in the tracker event files', async () => {
      const s = await eventAccumulatorScalars(join(tracker.logDir, 'al-p1'));
      return s['active/stripes/positives'] ? s : undefined;
    });
    assert.deepEqual(scalars['active/stripes/positives'], [[1, first.last!.classes[0]!.positives]]);
    assert.deepEqual(scalars['active/labelled'], [[1, 16]]);

    // A new worker process picks the waiting workflow up; two new cells are below minNewLabels, the signal starts round 2.
    await worker.stop('SIGKILL');
    worker = await stack.startWorker();
    await label('p1', q[0]!);
    await handle.signal(retrainSignal);
    const second = await untilRound(handle, 2);
    assert.equal(second.last!.labelled, 18);
    q = await queue('al-p1');
    assert.ok(!q.includes(first.last!.queueHead[0]!), 'the image labelled after round 1 is not queued again');
    assert.equal(q.length, expectedQueue.length - 1, 'the newly labelled image left the queue');
    for (const key of excluded) assert.ok(!q.includes(key), `excluded ${key} never queued`);

    await handle.signal(stopActiveLearningSignal);
    const result = await handle.result();
    assert.equal(result.rounds, 2);

    // Another process computes round 2 again from what it stored: the same head, predictions and queue bytes.
    const replay = await runCli(['label', 'replay', 'p1', '--round', '2', '--workflow', 'al-p1'], {
      env: { ...process.env, ...settingsToEnv(stack.settings) },
      cwd: stack.home,
    });
    assert.equal(replay.code, 0, replay.err + replay.out);
    assert.match(replay.out, /head +identical[\s\S]*predictions +identical[\s\S]*queue +identical/);
  });

  test('a class retired mid-project is not trained, predicted or measured in the next round; its labels stay', async () => {
    await createProject('p3');
    const labelled = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => keys[i * 3]!);
    for (const key of labelled) await label('p3', key);
    const handle = await start('al-p3', { project: 'p3', minNewLabels: 1 });
    const first = await untilRound(handle, 1);
    assert.deepEqual(
      first.last!.classes.map((c) => c.name),
      ['stripes', 'round'],
    );

    await api('POST', '/p3/classes/retire', { name: 'round' });
    await handle.signal(retrainSignal);
    const second = await untilRound(handle, 2);
    assert.deepEqual(
      second.last!.classes.map((c) => c.name),
      ['stripes'],
      'round 2 measures the active class only',
    );
    assert.equal(second.last!.labelled, 8, "the retired class's cells are not counted");
    const store = openStorage(stack.settings.store, stack.settings.s3);
    const roundKeys = JSON.parse((await store.get('runs/al-p3/rounds/00002/keys.json')).toString('utf8')) as {
      keys: string[];
      classes: string[];
    };
    assert.deepEqual(roundKeys.classes, ['stripes'], 'round 2 predicts the active class only');
    const probs = await store.get('runs/al-p3/rounds/00002/probs.f32');
    assert.equal(probs.byteLength, 4 * keys.length, 'one probability per image');

    const scalars = await pollUntil('round 2 metrics in the tracker event files', async () => {
      const s = await eventAccumulatorScalars(join(tracker.logDir, 'al-p3'));
      return s['active/labelled']?.length === 2 ? s : undefined;
    });
    assert.deepEqual(
      scalars['active/round/positives']!.map(([step]) => step),
      [1],
      'no metric of the retired class after round 1',
    );
    assert.deepEqual(
      scalars['active/stripes/positives']!.map(([step]) => step),
      [1, 2],
    );

    const exported = (await (
      await fetch(`${tracker.url}/projects/p3/export.csv`, {
        headers: { authorization: `Bearer ${tracker.token}` },
      })
    ).text()) as string;
    assert.match(exported.split('\n')[0]!, /,stripes,round\s*$/, 'the export keeps the retired column');
    const roundPositives = exported.split('\n').filter((line) => /,1\s*$/.test(line)).length;
    assert.equal(roundPositives, labelled.filter((k) => truth(k).round === 1).length, 'and its labels');

    await handle.signal(stopActiveLearningSignal);
    assert.equal((await handle.result()).rounds, 2);
  });

  test('a label write that crosses minNewLabels starts a round at once (tracker signal), not at the next poll', async () => {
    await createProject('p4');
    for (const i of [0, 1, 2, 3, 4, 5, 6, 7]) await label('p4', keys[i * 3]!);
    // An hour between polls: only the tracker's signal can start round 2 within the test. The tracker signals the
    // project's loop by its workflow id, label-<project>.
    const handle = await start(activeLearningWorkflowId('p4'), {
      project: 'p4',
      minNewLabels: 4,
      pollIntervalMs: 3_600_000,
    });
    await untilRound(handle, 1);
    await label('p4', keys[1]!); // 2 new cells: below minNewLabels, no round
    const written = Date.now();
    await label('p4', keys[4]!); // 4 new cells: this write crosses it
    const started = await pollUntil(
      'round 2 started',
      async () => {
        const s = await handle.query(activeLearningStatusQuery);
        return s.phase !== 'waiting' || s.rounds >= 2 ? Date.now() : undefined;
      },
      120_000,
      25,
    );
    console.log(`round 2 started ${started - written} ms after the label write that made it due`);
    const second = await untilRound(handle, 2);
    assert.equal(second.last!.labelled, 20, '10 images x 2 classes');
    const history = await handle.fetchHistory();
    const signals = history.events!.filter(
      (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'labelsChanged',
    );
    assert.ok(signals.length >= 1, 'the tracker signalled the loop');
    await handle.signal(stopActiveLearningSignal);
    assert.equal((await handle.result()).rounds, 2);
  });

  test('a pool head trains on feature-map embeddings: predictions, a BADGE queue and the map from pooled maps', async () => {
    const client = await connectClient(stack.settings);
    const maps = await client.workflow.execute(embedWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: 'embed-al-maps',
      args: [{ source: join(stack.home, 'images'), model: { path: modelPath }, input: { imshape: [32, 32] }, projectorLimit: 0, featureMaps: true }],
    });
    assert.ok(maps.mapShape, 'the embedding stored maps');
    await createProject('pfm');
    for (const i of [0, 1, 2, 3, 5, 6]) await label('pfm', keys[i * 3]!);
    const handle = await start(activeLearningWorkflowId('pfm'), {
      project: 'pfm',
      modelHash: maps.modelHash,
      minNewLabels: 1,
      queueSize: 6,
      head: { kind: 'pool', pooling: 'max', epochs: 3, samplesPerEpoch: 64 },
    });
    await untilRound(handle, 1);
    const status = await handle.query(activeLearningStatusQuery);
    assert.equal(status.lastError, undefined);
    assert.equal(predictions('pfm').size, 24);
    assert.equal((await queue(activeLearningWorkflowId('pfm'))).length, 6);
    const store = openStorage(stack.settings.store, stack.settings.s3);
    const head = JSON.parse((await store.get(roundHeadKey(activeLearningWorkflowId('pfm'), 1))).toString('utf8')) as { config: { kind: string; mapShape: number[] } };
    assert.equal(head.config.kind, 'pool');
    assert.deepEqual(head.config.mapShape, maps.mapShape);
    const info = await fetch(`${tracker.url}/projects/pfm/map/info`, { headers: { authorization: `Bearer ${tracker.token}` } });
    assert.equal(info.status, 200, 'the map was computed from the pooled maps');
    assert.equal(((await info.json()) as { count: number }).count, 24);
    await handle.signal(stopActiveLearningSignal);
    await handle.result();
  });

  test('max-entropy ordering: the queue follows the published predictions', async () => {
    await createProject('p2');
    for (const i of [0, 1, 2, 3, 5, 6]) await label('p2', keys[i * 3]!);
    const handle = await start('al-p2', {
      project: 'p2',
      minNewLabels: 1,
      sort: 'max entropy',
      queueSize: 10,
    });
    await untilRound(handle, 1);
    const published = predictions('p2');
    const q = await queue('al-p2');
    assert.equal(q.length, 10);
    const entropy = q.map((k) => published.get(k)!.reduce((a, p) => a + binaryEntropy(p), 0));
    for (let i = 1; i < entropy.length; i++)
      assert.ok(entropy[i - 1]! >= entropy[i]! - 1e-6, `entropy descending: ${entropy}`);
    await handle.signal(stopActiveLearningSignal);
    assert.equal((await handle.result()).rounds, 1);
  });
});
