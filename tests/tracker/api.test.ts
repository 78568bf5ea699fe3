// Ingest API against the real tracker process: auth, validation, size limit, run-name traversal, retried batches,
// NaN/Inf encoding, and a tracker killed with SIGKILL and restarted while a TrackerClient keeps logging. Event files
// are read back with our reader and with TensorBoard's EventAccumulator.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readEventFile, scalarSeries, type ScalarPoint } from '../../tensorboard-format/index.ts';
import { TrackerClient } from '../../tracker-client/client.ts';
import { eventFiles } from '../../tracker/runs/scan.ts';
import { runPythonJson } from '../helpers/python.ts';
import { repoRoot } from '../helpers/paths.ts';
import { pollUntil } from '../helpers/tensorboard.ts';
import { startTracker, type LiveTracker } from '../helpers/tracker.ts';

let home: string;
let tracker: LiveTracker;

/** `token: null` sends no Authorization header. */
async function post(path: string, body: unknown, token: string | null = tracker.token) {
  const response = await fetch(tracker.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = { raw: text };
  }
  return { status: response.status, body: json };
}

/** Reads need the token too. */
const read = (path: string) => fetch(tracker.url + path, { headers: { authorization: `Bearer ${tracker.token}` } });

async function seriesOf(run: string): Promise<Map<string, ScalarPoint[]>> {
  const events = [];
  for (const file of eventFiles(join(tracker.logDir, run))) events.push(...(await readEventFile(file)).events);
  return scalarSeries(events);
}

const accumulatorScalars = (dir: string) =>
  runPythonJson<Record<string, [number, number][]>>(
    `
import json, sys
from tensorboard.backend.event_processing import event_accumulator
ea = event_accumulator.EventAccumulator(json.loads(sys.argv[1]), size_guidance={"scalars": 0}).Reload()
print(json.dumps({tag: [[s.step, s.value] for s in ea.Scalars(tag)] for tag in ea.Tags()["scalars"]}))
`,
    { input: dir, timeoutMs: 180_000 },
  );

describe('tracker ingest API', () => {
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'tracker-api-'));
    tracker = await startTracker(home);
  });
  after(async () => {
    await tracker?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  test('writes without the token, or with a wrong one, are 401 and write nothing', async () => {
    for (const token of [null, 'wrong-token', '', `${tracker.token}x`]) {
      const start = await post('/api/runs', { run: 'unauth' }, token);
      assert.equal(start.status, 401, `token ${token}`);
      assert.match(start.body.error, /bearer token/);
      const batch = await post('/api/runs/unauth/batches', { batchId: 'x', items: [] }, token);
      assert.equal(batch.status, 401);
    }
    assert.equal(existsSync(join(tracker.logDir, 'unauth')), false);
    assert.equal((await read('/api/runs/unauth')).status, 404);
  });

  test('malformed bodies are 400 and name the field', async () => {
    assert.equal((await post('/api/runs', { run: 'shapes' })).status, 200);
    const notJson = await post('/api/runs/shapes/batches', '{"batchId": ');
    assert.equal(notJson.status, 400);
    assert.match(notJson.body.error, /not valid JSON/);
    const missing = await post('/api/runs/shapes/batches', { batchId: 'b' });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error, /^items: Required/);
    const badValue = await post('/api/runs/shapes/batches', {
      batchId: 'b',
      items: [
        { kind: 'scalar', tag: 'ok', step: 0, value: 1 },
        { kind: 'scalar', tag: 'loss', step: 1, value: 'nan' },
      ],
    });
    assert.equal(badValue.status, 400);
    assert.match(badValue.body.error, /items\.1\.value: expected a number or one of "NaN"/);
    const badStep = await post('/api/runs/shapes/batches', { batchId: 'b', items: [{ kind: 'scalar', tag: 'x', step: -1, value: 1 }] });
    assert.match(badStep.body.error, /items\.0\.step: step must be >= 0/);
    const notPng = await post('/api/runs/shapes/batches', { batchId: 'b', items: [{ kind: 'image', tag: 'im', step: 0, png: ['aGVsbG8='] }] });
    assert.equal(notPng.status, 400);
    assert.match(notPng.body.error, /items\.0\.png\.0: not a PNG/);
    // Nothing from the refused batches reached the file (the valid first item of a refused batch included).
    assert.equal((await seriesOf('shapes')).size, 0);
  });

  test('an oversize body is 413 and writes nothing', async () => {
    const items = Array.from({ length: 40 }, (_, i) => ({ kind: 'text', tag: 'big', step: i, text: 'x'.repeat(1 << 20) }));
    const response = await post('/api/runs/shapes/batches', { batchId: 'huge', items });
    assert.equal(response.status, 413);
    assert.match(response.body.error, /larger than/);
    assert.equal((await post('/api/runs/shapes/batches', { batchId: 'huge', items: [] })).body.duplicate, false);
  });

  test('run names that try to leave the log dir are 400', async () => {
    for (const run of ['../evil', '..', '.hidden', 'a/b', '/etc', 'a\\..\\b', '']) {
      const response = await post('/api/runs', { run });
      assert.equal(response.status, 400, run);
      assert.match(response.body.error, /^run: a run id is/);
    }
    for (const path of ['/api/runs/..%2Fevil/batches', '/api/runs/%2E%2E%2Fevil/batches', '/api/runs/..%5C..%5Cevil/finish']) {
      const response = await post(path, { batchId: 'b', items: [], status: 'completed' });
      assert.equal(response.status, 400, path);
    }
    assert.deepEqual(readdirSync(home).filter((n) => n.includes('evil')), []);
  });

  test('a retried batch is written once; NaN and infinities are stored as float32 specials', async () => {
    assert.equal((await post('/api/runs', { run: 'retry', hparams: { lr: 0.5 } })).status, 200);
    const batch = {
      batchId: 'batch-0001',
      items: [
        { kind: 'scalar', tag: 'loss', step: 0, value: 0.25 },
        { kind: 'scalar', tag: 'special', step: 0, value: 'NaN' },
        { kind: 'scalar', tag: 'special', step: 1, value: 'Infinity' },
        { kind: 'scalar', tag: 'special', step: 2, value: '-Infinity' },
      ],
    };
    const first = await post('/api/runs/retry/batches', batch);
    assert.deepEqual(first.body, { batchId: 'batch-0001', duplicate: false, written: 4, skipped: 0 });
    const again = await post('/api/runs/retry/batches', batch);
    assert.deepEqual(again.body, { batchId: 'batch-0001', duplicate: true, written: 0, skipped: 0 });
    // The same values under a new id (a client that lost its id) are skipped per (tag, step).
    const renamed = await post('/api/runs/retry/batches', { ...batch, batchId: 'batch-0001b' });
    assert.deepEqual(renamed.body, { batchId: 'batch-0001b', duplicate: false, written: 0, skipped: 4 });
    const series = await seriesOf('retry');
    assert.deepEqual(series.get('loss')!.map((p) => [p.step, p.value]), [[0, 0.25]]);
    assert.deepEqual(series.get('special')!.map((p) => [p.step, p.value]), [[0, NaN], [1, Infinity], [2, -Infinity]]);
    const finished = await post('/api/runs/retry/finish', { status: 'completed' });
    assert.equal(finished.body.status, 'completed');
    assert.equal((await post('/api/runs/retry/batches', { batchId: 'late', items: [] })).status, 409);
  });

  test('skipLogged sessions discard nothing: re-sent (tag, step) pairs are skipped at any step, new ones written', async () => {
    const scalar = (tag: string, step: number, value: number) => ({ kind: 'scalar', tag, step, value });
    assert.equal((await post('/api/runs', { run: 'resumed', hparams: { method: 'dc' } })).status, 200);
    const first = await post('/api/runs/resumed/batches', {
      batchId: 'w1',
      items: [0, 1, 2, 3].map((s) => scalar('train/loss', s, s + 0.5)).concat([scalar('eval/acc', 4, 0.75)]),
    });
    assert.equal(first.body.written, 5);
    // A second worker resumes from a checkpoint at step 2 and re-sends steps 2 and 3 before new ones.
    const bad = await post('/api/runs', { run: 'resumed', skipLogged: true, startStep: 2 });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /startStep: skipLogged .* cannot take a startStep/);
    const resumed = await post('/api/runs', { run: 'resumed', skipLogged: true, hparams: { method: 'dc' } });
    assert.equal(resumed.status, 200);
    assert.deepEqual([resumed.body.startStep, resumed.body.resumed], [5, true]);
    const again = await post('/api/runs/resumed/batches', {
      batchId: 'w2',
      items: [2, 3, 4, 5].map((s) => scalar('train/loss', s, s + 0.5 + (s < 4 ? 100 : 0))),
    });
    assert.deepEqual([again.body.written, again.body.skipped], [2, 2]);
    const series = await seriesOf('resumed');
    assert.deepEqual(series.get('train/loss')!.map((p) => [p.step, p.value]), [[0, 0.5], [1, 1.5], [2, 2.5], [3, 3.5], [4, 4.5], [5, 5.5]]);
    assert.deepEqual(series.get('eval/acc')!.map((p) => p.step), [4], 'nothing purged: the evaluation at step 4 stays');
    const python = await accumulatorScalars(join(tracker.logDir, 'resumed'));
    assert.deepEqual(python['train/loss'].map(([step]) => step), [0, 1, 2, 3, 4, 5], 'TensorBoard: one value per step');
    assert.deepEqual(python['eval/acc'], [[4, 0.75]]);
  });

  test('a run registers its trained model; the API and the run pages show it', async () => {
    assert.equal((await post('/api/runs', { run: 'modelled' })).status, 200);
    const sha256 = 'ab'.repeat(32);
    const model = { key: 'runs/modelled/model/model.json', sha256, bytes: 1234, step: 6 };
    assert.equal((await post('/api/runs/modelled/model', model, null)).status, 401);
    const badHash = await post('/api/runs/modelled/model', { ...model, sha256: 'xyz' });
    assert.equal(badHash.status, 400);
    assert.match(badHash.body.error, /sha256: sha256 must be 64 lowercase hex characters/);
    assert.equal((await post('/api/runs/unknown-run/model', model)).status, 404);
    const registered = await post('/api/runs/modelled/model', model);
    assert.equal(registered.status, 200);
    const run = await read('/api/runs/modelled').then((r) => r.json() as Promise<any>);
    assert.deepEqual({ ...run.model, registeredAt: undefined }, { ...model, registeredAt: undefined });
    const page = await read('/runs/modelled').then((r) => r.text());
    assert.ok(page.includes(sha256) && page.includes(model.key), 'the run page shows the model key and hash');
    const list = await read('/runs/table').then((r) => r.text());
    assert.ok(list.includes(model.key), 'the runs list shows the model');
  });

  test('a projector posted by a worker is written next to the run and TensorBoard serves it; bad uploads are 400', async () => {
    assert.equal((await post('/api/runs', { run: 'proj' })).status, 200);
    const n = 3;
    const d = 4;
    const values = Float32Array.from({ length: n * d }, (_, i) => i / 10);
    const upload = {
      name: 'embeddings-test',
      shape: [n, d],
      values: Buffer.from(values.buffer).toString('base64'),
      metadata: { columns: ['key', 'folder'], rows: [['a.png', '.'], ['b/c.png', 'b'], ['d.png', '.']] },
      sprite: { thumbSize: 4, rgb: Buffer.alloc(n * 4 * 4 * 3, 200).toString('base64') },
    };
    assert.equal((await post('/api/runs/proj/projector', upload, null)).status, 401);
    const bad = [
      [{ ...upload, name: '../escape' }, /name/],
      [{ ...upload, shape: [n, d + 1] }, /values: 48 bytes, expected 3 x 5/],
      [{ ...upload, sprite: { thumbSize: 4, rgb: 'AAAA' } }, /sprite.rgb/],
      [{ ...upload, metadata: { columns: ['key'], rows: [['a'], ['b']] } }, /metadata.rows: 2 rows for 3 points/],
      [{ ...upload, values: Buffer.from(new Float32Array(n * d).fill(NaN).buffer).toString('base64') }, /NaN/],
    ] as const;
    for (const [body, message] of bad) {
      const r = await post('/api/runs/proj/projector', body);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.match(r.body.error, message);
    }
    assert.equal((await post('/api/runs/nobody/projector', upload)).status, 404);
    assert.ok(!existsSync(join(tracker.logDir, 'proj', 'projector_config.pbtxt')), 'refused uploads write nothing');

    const ok = await post('/api/runs/proj/projector', upload);
    assert.deepEqual([ok.status, ok.body], [200, { points: 3 }]);
    const read = await runPythonJson<{ shape: number[]; first: number[]; meta: string[] }>(
      `
import json, os, sys
from tensorboard.plugins.projector import projector_config_pb2
from google.protobuf import text_format
import numpy as np
run = json.loads(sys.argv[1])
config = text_format.Parse(open(os.path.join(run, "projector_config.pbtxt")).read(), projector_config_pb2.ProjectorConfig())
e = config.embeddings[0]
data = np.fromfile(os.path.join(run, e.tensor_path), dtype="<f4").reshape(list(e.tensor_shape))
meta = open(os.path.join(run, e.metadata_path)).read().splitlines()
print(json.dumps({"shape": list(e.tensor_shape), "first": data[1].tolist(), "meta": meta}))
`,
      { input: join(tracker.logDir, 'proj'), timeoutMs: 120_000 },
    );
    assert.deepEqual(read.shape, [3, 4]);
    assert.deepEqual(read.first.map((v) => Math.round(v * 10)), [4, 5, 6, 7]);
    assert.deepEqual(read.meta, ['key\tfolder', 'a.png\t.', 'b/c.png\tb', 'd.png\t.']);
  });

  test('a worker killed while the tracker is down loses no logs: persist() spooled them, its successor sends them', async () => {
    const spoolDir = join(home, 'spool-persist');
    const logger = join(repoRoot, 'tests', 'helpers', 'tracker-logger.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', logger, tracker.url, tracker.token, 'persist', spoolDir, '200'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! });
    const next = () => new Promise<string>((resolve) => lines.once('line', resolve));
    try {
      assert.equal(await next(), 'acked');
      await tracker.kill();
      child.stdin!.write('go\n');
      assert.match(await next(), /^persisted [1-9]/, 'the unacknowledged logs are on disk');
      child.kill('SIGKILL');
      await once(child, 'exit');
    } finally {
      child.kill('SIGKILL');
    }
    await tracker.restart();
    const { client } = await TrackerClient.start({ url: tracker.url, token: tracker.token, run: 'persist', spoolDir, skipLogged: true });
    await client.close({ status: 'completed', timeoutMs: 60_000 });
    const steps = (await seriesOf('persist')).get('loss')!.map((p) => p.step);
    assert.deepEqual(steps, Array.from({ length: 200 }, (_, s) => s), 'every step exactly once');
  });

  test('tracker killed (SIGKILL) and restarted while a client logs: nothing lost, nothing doubled', async () => {
    const steps = 3000;
    const { client } = await TrackerClient.start({
      url: tracker.url,
      token: tracker.token,
      run: 'crash',
      spoolDir: join(home, 'spool'),
      batchSize: 100,
      maxBufferedItems: 400, // small, so the outage spills batches to the on-disk spool
      flushIntervalMs: 20,
      retryMinMs: 20,
      retryMaxMs: 200,
    });
    const value = (tag: string, step: number) => (tag === 'loss' ? 1 / (step + 1) : step * 0.5);
    let killed = false;
    let spooled = 0;
    for (let step = 0; step < steps; step++) {
      client.scalar('loss', step, value('loss', step));
      client.scalar('acc', step, value('acc', step));
      if (step % 50 === 49) await new Promise((r) => setImmediate(r));
      if (!killed && step === 1000) {
        // Wait until the tracker has written some of the run, then kill it mid-stream.
        await pollUntil('tracker to hold steps of the run', async () => {
          const r = await read('/api/runs/crash').then((x) => x.json() as Promise<any>);
          return r.lastStep >= 200 ? true : undefined;
        });
        await tracker.kill();
        killed = true;
      }
      if (killed && step === 2000) {
        spooled = client.pending.spoolFiles;
        await tracker.restart();
      }
    }
    assert.ok(spooled > 0, 'the outage should have spilled batches to the spool');
    await client.close({ status: 'completed', timeoutMs: 120_000 });
    assert.ok(eventFiles(join(tracker.logDir, 'crash')).length >= 2, 'the restart continues in a new event file');
    const expected = (tag: string) => Array.from({ length: steps }, (_, s) => [s, Math.fround(value(tag, s))]);
    const ours = await seriesOf('crash');
    for (const tag of ['loss', 'acc']) assert.deepEqual(ours.get(tag)!.map((p) => [p.step, p.value]), expected(tag), tag);
    const python = await accumulatorScalars(join(tracker.logDir, 'crash'));
    for (const tag of ['loss', 'acc']) assert.deepEqual(python[tag], expected(tag), `EventAccumulator ${tag}`);
  });
});
