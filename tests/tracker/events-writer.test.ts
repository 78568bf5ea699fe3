// EventFileWriter behaviour read back with our own reader (no TensorBoard needed): file naming, header records,
// refusals, float32 scalars, flushing, and the pure helpers (bucketing, tiling, hparams encoding).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  EventFileWriter,
  FILE_VERSION,
  bucketize,
  readEventFile,
  scalarSeries,
  tensorNumbers,
  tensorShape,
  tileImages,
} from '../../tensorboard-format/index.ts';
import { HParamsPluginDataProto } from '../../tensorboard-format/protos.ts';
import { pollUntil } from '../helpers/tensorboard.ts';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'events-writer-'));
}

test('a new file sorts after existing event files and starts with file_version then SessionLog START', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const future = 'events.out.tfevents.9999999999.otherhost.1.0';
  await writeFile(join(dir, future), Buffer.alloc(0));
  const writer = await EventFileWriter.open(dir, { startStep: 7 });
  await writer.close();
  const name = basename(writer.path);
  assert.match(name, /^events\.out\.tfevents\.\d{10}\.[^.]+.*\.\d+\.\d+$/);
  assert.ok(name > future, `${name} should sort after ${future}`);
  const { events, truncatedTail } = await readEventFile(writer.path);
  assert.equal(truncatedTail, undefined);
  assert.equal(events.length, 2);
  assert.equal(events[0].file_version, FILE_VERSION);
  assert.deepEqual([events[1].step, events[1].session_log?.status], [7, 'START']);
  const now = Date.now() / 1000;
  assert.ok(
    Math.abs(events[0].wall_time - now) < 600,
    `wall_time ${events[0].wall_time} should be seconds near ${now}`,
  );
});

test('two writers opened in the same second still get names in open order', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const clock = () => 1_700_000_000.5;
  const names: string[] = [];
  for (let i = 0; i < 12; i++) {
    const w = await EventFileWriter.open(dir, { clock });
    await w.close();
    names.push(basename(w.path));
  }
  assert.deepEqual([...names].sort(), names);
  assert.deepEqual((await readdir(dir)).sort(), names);
});

test('scalars keep float32 values including NaN and infinities', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const values = [0.1, -2.5e-8, 1e30, NaN, Infinity, -Infinity, 3];
  const writer = await EventFileWriter.open(dir);
  values.forEach((v, step) => writer.addScalar('x', v, step));
  await writer.close();
  const series = scalarSeries((await readEventFile(writer.path)).events).get('x')!;
  assert.deepEqual(
    series.map((p) => p.step),
    [0, 1, 2, 3, 4, 5, 6],
  );
  assert.deepEqual(
    series.map((p) => p.value),
    values.map(Math.fround),
  );
});

test('the writer refuses a repeated or backwards (tag, step), and steps before startStep', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const writer = await EventFileWriter.open(dir, { startStep: 10 });
  t.after(() => writer.close());
  writer.addScalar('loss', 1, 10);
  writer.addScalar('acc', 1, 10);
  writer.addScalar('loss', 1, 11);
  assert.throws(() => writer.addScalar('loss', 2, 11), /tag "loss" already has step 11/);
  assert.throws(() => writer.addScalar('loss', 2, 10), /tag "loss" is at step 11, got step 10/);
  assert.throws(() => writer.addScalar('other', 2, 9), /step 9 is before this session's start step 10/);
  assert.throws(() => writer.addScalar('loss', 2, 1.5), /step must be a non-negative integer/);
  assert.throws(() => writer.addScalar('loss', 2, 12, Date.now()), /wall time must be seconds/);
  assert.throws(
    () => writer.addText('note', 42 as unknown as string, 12),
    /text "note": value must be a string/,
  );
  await writer.close();
  const series = scalarSeries((await readEventFile(writer.path)).events);
  assert.deepEqual(
    series.get('loss')!.map((p) => p.step),
    [10, 11],
  );
});

test('only one live writer per run directory in a process', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const first = await EventFileWriter.open(dir);
  await assert.rejects(EventFileWriter.open(join(dir, '.')), /another writer in this process is still open/);
  await first.close();
  const second = await EventFileWriter.open(dir);
  await second.close();
  assert.throws(() => second.addScalar('x', 1, 0), /is closed/);
});

test('buffered records reach the file on the flush timer without flush() or close()', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const writer = await EventFileWriter.open(dir, { flushMs: 50 });
  t.after(() => writer.close());
  const headerSize = (await stat(writer.path)).size;
  writer.addScalar('x', 1, 0);
  assert.equal((await stat(writer.path)).size, headerSize, 'record should still be buffered');
  await pollUntil(
    'the timer flush',
    async () => ((await stat(writer.path)).size > headerSize ? true : undefined),
    10_000,
    20,
  );
  const series = scalarSeries((await readEventFile(writer.path)).events);
  assert.deepEqual(
    series.get('x')!.map((p) => p.value),
    [1],
  );
});

test('images added without awaiting keep call order in the file', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const writer = await EventFileWriter.open(dir);
  const big = { data: new Uint8Array(512 * 512 * 3).fill(9), height: 512, width: 512, channels: 3 as const };
  const done = writer.addImages('img', big, 0);
  writer.addScalar('x', 1, 0);
  await done;
  await writer.close();
  const { events } = await readEventFile(writer.path);
  const tags = events.flatMap((e) => e.summary?.value.map((v) => v.tag) ?? []);
  assert.deepEqual(tags, ['img', 'x']);
  const image = events[2].summary!.value[0].tensor!;
  assert.deepEqual(tensorShape(image), [3]);
  assert.deepEqual(image.string_val!.slice(0, 2).map(String), ['512', '512']);
  assert.deepEqual(
    [...image.string_val![2].subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''),
    'PNG',
  );
});

test('text is stored as UTF-8 bytes, not base64-decoded', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const writer = await EventFileWriter.open(dir);
  const markdown = '# Überschrift\n\n**2** items, ✓';
  writer.addText('notes', markdown, 0);
  await writer.close();
  const value = (await readEventFile(writer.path)).events[2].summary!.value[0];
  assert.equal(value.metadata?.plugin_data?.plugin_name, 'text');
  assert.equal(value.tensor!.string_val![0].toString('utf8'), markdown);
});

test('histogram tensor rows are [left, right, count] from equal-width buckets', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const writer = await EventFileWriter.open(dir);
  writer.addHistogram('h', [0, 1, 1, 2, 3, 4], 0, { buckets: 4 });
  await writer.close();
  const tensor = (await readEventFile(writer.path)).events[2].summary!.value[0].tensor!;
  assert.deepEqual(tensorShape(tensor), [4, 3]);
  // Edges 0,1,2,3,4 by hand; the maximum 4 falls in the last bucket.
  assert.deepEqual(tensorNumbers(tensor), [0, 1, 1, 1, 2, 2, 2, 3, 1, 3, 4, 2]);
});

test('bucketize handles constant and empty input and refuses NaN', () => {
  assert.deepEqual(bucketize([5, 5, 5], 2), { edges: [4.5, 5, 5.5], counts: [0, 3] });
  assert.deepEqual(bucketize([], 3), { edges: [0, 0, 0, 0], counts: [0, 0, 0] });
  const many = bucketize(Array.from({ length: 1000 }, (_, i) => Math.sin(i)));
  assert.equal(many.counts.length, 30);
  assert.equal(
    many.counts.reduce((a, b) => a + b, 0),
    1000,
  );
  assert.throws(() => bucketize([1, NaN], 3, 'histogram "w"'), /histogram "w": value at index 1 is NaN/);
  assert.throws(() => bucketize([1], 0), /bucket count must be a positive integer/);
});

test('tileImages places images row-major with padding', () => {
  const solid = (v: number) => ({
    data: new Uint8Array(2 * 3).fill(v),
    height: 2,
    width: 3,
    channels: 1 as const,
  });
  const grid = tileImages([solid(10), solid(20), solid(30)], { padding: 1, background: 255 });
  assert.equal(grid.width, 2 * 3 + 1);
  assert.equal(grid.height, 2 * 2 + 1);
  const at = (x: number, y: number) => grid.data[y * grid.width + x];
  assert.deepEqual(
    [at(0, 0), at(2, 1), at(3, 0), at(4, 0), at(6, 1), at(0, 2), at(0, 3), at(4, 3)],
    [10, 10, 255, 20, 20, 255, 30, 255],
  );
  assert.throws(
    () => tileImages([solid(1), { ...solid(1), width: 2, data: new Uint8Array(4) }]),
    /image 1 is 2x2x1 but image 0 is 2x3x1/,
  );
  const floats = tileImages([{ data: new Float32Array([0, 0.5, 1, 1]), height: 2, width: 2, channels: 1 }]);
  assert.deepEqual([...floats.data], [0, 128, 255, 255]);
  assert.throws(
    () => tileImages([{ data: new Float32Array([0, 200, 1, 1]), height: 2, width: 2, channels: 1 }]),
    /float pixel 1 is 200/,
  );
});

test('hparams values survive encoding (protobufjs struct.proto uses camelCase keys)', async (t) => {
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const writer = await EventFileWriter.open(dir);
  writer.addHparamsSessionStart({ lr: 0.01, optimizer: 'adam', sobel: true });
  await writer.close();
  const value = (await readEventFile(writer.path)).events[2].summary!.value[0];
  assert.equal(value.tag, '_hparams_/session_start_info');
  const content = HParamsPluginDataProto.toObject(
    HParamsPluginDataProto.decode(value.metadata!.plugin_data!.content!),
  );
  assert.deepEqual(content.session_start_info.hparams, {
    lr: { numberValue: 0.01 },
    optimizer: { stringValue: 'adam' },
    sobel: { boolValue: true },
  });
});
