// Input that the tracker cannot store is a 400 that names the field, and it writes nothing: steps past the last exact
// integer, non-finite histogram values, projector uploads that fail late. In process, on files in a temporary folder.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEventFile, scalarSeries } from '../../tensorboard-format/index.ts';
import { eventFiles } from '../../tracker/runs/scan.ts';
import { startTestTracker, type TestTracker } from './helpers.ts';

let dir: string;
let tracker: TestTracker;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tracker-bad-input-'));
  tracker = startTestTracker(dir);
});
after(async () => {
  await tracker?.close();
  await rm(dir, { recursive: true, force: true });
});

const scalar = (step: number) => ({ kind: 'scalar', tag: 'loss', step, value: 1 });

test('a step past 2^53 - 2 is refused, so resuming the run still works', async () => {
  assert.equal((await tracker.call('POST', '/api/runs', { run: 'big-step' })).status, 200);
  const before = tracker.snapshot();
  for (const step of [2 ** 53 - 1, 2 ** 53, 1e300]) {
    const r = await tracker.call('POST', '/api/runs/big-step/batches', {
      batchId: `b${step}`,
      items: [scalar(step)],
    });
    assert.equal(r.status, 400, `step ${step}`);
    assert.match(r.body.error, /items\.0\.step: step must be <= 9007199254740990/);
  }
  for (const body of [{ run: 'big-step', startStep: 2 ** 53 - 1 }]) {
    const r = await tracker.call('POST', '/api/runs', body);
    assert.equal(r.status, 400);
    assert.match(r.body.error, /startStep: step must be <=/);
  }
  assert.deepEqual(tracker.snapshot(), before, 'refused requests change no file and no row');

  const last = 2 ** 53 - 2;
  assert.equal(
    (await tracker.call('POST', '/api/runs/big-step/batches', { batchId: 'max', items: [scalar(last)] }))
      .status,
    200,
  );
  for (const body of [{ run: 'big-step' }, { run: 'big-step', skipLogged: true }]) {
    const resumed = await tracker.call('POST', '/api/runs', body);
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    assert.equal(resumed.body.startStep, last + 1);
  }
  const events = (await Promise.all(eventFiles(join(tracker.logDir, 'big-step')).map(readEventFile))).flatMap(
    (f) => f.events,
  );
  assert.deepEqual(
    scalarSeries(events)
      .get('loss')!
      .map((p) => p.step),
    [last],
  );
});

test('a run whose next step would pass 2^53 - 2 is refused with 409 on resume, writing nothing', async () => {
  // A session start with hparams at the last step counts as a logged step, so each resume moves the start on by one.
  const first = await tracker.call('POST', '/api/runs', {
    run: 'last-steps',
    startStep: 2 ** 53 - 2,
    hparams: { a: 1 },
  });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const second = await tracker.call('POST', '/api/runs', { run: 'last-steps', hparams: { a: 1 } });
  assert.equal(second.status, 200, JSON.stringify(second.body));
  assert.equal(second.body.startStep, 2 ** 53 - 1);
  const before = tracker.snapshot();
  const third = await tracker.call('POST', '/api/runs', { run: 'last-steps' });
  assert.equal(third.status, 409, JSON.stringify(third.body));
  assert.match(third.body.error, /run last-steps has used every step.*log to a new run/);
  assert.deepEqual(tracker.snapshot(), before);
});

test('a histogram with 1e999 (infinity in JSON) is a 400 naming the value, and nothing is written', async () => {
  assert.equal((await tracker.call('POST', '/api/runs', { run: 'hist' })).status, 200);
  const before = tracker.snapshot();
  const body = '{"batchId":"h","items":[{"kind":"histogram","tag":"w","step":0,"values":[1,1e999]}]}';
  const r = await tracker.call('POST', '/api/runs/hist/batches', body);
  assert.equal(r.status, 400);
  assert.match(r.body.error, /items\.0\.values\.1: histogram values must be finite/);
  assert.deepEqual(tracker.snapshot(), before);

  const wide = await tracker.call('POST', '/api/runs/hist/batches', {
    batchId: 'wide',
    items: [
      { kind: 'histogram', tag: 'w', step: 0, values: [-1.7e308, 0, 1.7e308] },
      { kind: 'histogram', tag: 'same', step: 0, values: [1.7e308] },
    ],
  });
  assert.equal(wide.status, 200, 'finite values whose range overflows still make a histogram');
});

test('projector uploads that fail after validation write no file; one metadata column is accepted', async () => {
  assert.equal((await tracker.call('POST', '/api/runs', { run: 'proj' })).status, 200);
  const upload = (n: number, extra: Record<string, unknown> = {}) => ({
    name: 'emb',
    shape: [n, 2],
    values: Buffer.from(new Float32Array(n * 2).map((_, i) => i + 0.5).buffer).toString('base64'),
    ...extra,
  });
  const before = tracker.snapshot();
  const wide = await tracker.call(
    'POST',
    '/api/runs/proj/projector',
    upload(10_000, { sprite: { thumbSize: 128, rgb: '' } }),
  );
  assert.equal(wide.status, 400);
  assert.match(wide.body.error, /sprite\.thumbSize: .* use a thumbSize <= 81/);
  assert.deepEqual(tracker.snapshot(), before);
  assert.ok(!existsSync(join(tracker.logDir, 'proj', 'projector')), 'no orphan tensors file');

  const one = await tracker.call(
    'POST',
    '/api/runs/proj/projector',
    upload(2, { metadata: { columns: ['key'], rows: [['a'], ['b']] } }),
  );
  assert.equal(one.status, 200, JSON.stringify(one.body));
  assert.ok(existsSync(join(tracker.logDir, 'proj', 'projector', 'emb', 'metadata.tsv')));
});
