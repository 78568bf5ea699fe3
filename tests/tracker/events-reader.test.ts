// Our reader against files written by TensorFlow's and TensorBoard's own Python writers, and against damaged files:
// a truncated last record (crash) and a flipped byte (corruption). Uses the venv in .tools/venv.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EventFileWriter,
  readEventFile,
  RecordCorruptError,
  scalarSeries,
} from '../../tensorboard-format/index.ts';
import { runPythonJson } from '../helpers/python.ts';

const writeWithPython = `
import json, os, sys
import numpy as np
args = json.loads(sys.argv[1])
import tensorflow as tf
writer = tf.summary.create_file_writer(args["tf_dir"])
with writer.as_default():
    for step, v in enumerate(args["values"]):
        tf.summary.scalar("loss", v, step=step)
    tf.summary.text("note", "hello *tf*", step=0)
    tf.summary.histogram("weights", [1.0, 2.0, 2.5, 7.0], step=3)
writer.close()
# TensorBoard's own writer without TensorFlow's summary ops: legacy simple_value scalars.
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.compat.proto import event_pb2, summary_pb2
legacy = EventFileWriter(args["tb_dir"])
for step, v in enumerate(args["values"]):
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="legacy", simple_value=v)])
    legacy.add_event(event_pb2.Event(step=step, wall_time=1700000000.0 + step, summary=summary))
legacy.close()
print(json.dumps({"float32": [float(np.float32(v)) for v in args["values"]]}))
`;

test('reads scalars from files written by tf.summary and by TensorBoard’s Python EventFileWriter', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'events-reader-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const values = [0.1, 1 / 3, -7.25, 123456.789, 1e-20];
  const tfDir = join(dir, 'tf');
  const tbDir = join(dir, 'tb');
  const { float32 } = await runPythonJson<{ float32: number[] }>(writeWithPython, {
    input: { values, tf_dir: tfDir, tb_dir: tbDir },
  });

  const [tfFile] = await readdir(tfDir);
  const tf = await readEventFile(join(tfDir, tfFile));
  assert.equal(tf.truncatedTail, undefined);
  assert.equal(tf.events[0].file_version, 'brain.Event:2');
  const loss = scalarSeries(tf.events).get('loss')!;
  assert.deepEqual(
    loss.map((p) => p.step),
    [0, 1, 2, 3, 4],
  );
  assert.deepEqual(
    loss.map((p) => p.value),
    float32,
  );
  const tags = new Set(tf.events.flatMap((e) => e.summary?.value.map((v) => v.tag) ?? []));
  assert.ok(tags.has('note') && tags.has('weights'), `expected text and histogram tags, got ${[...tags]}`);
  assert.ok(!scalarSeries(tf.events).has('note'), 'text must not be read as a scalar');

  const [tbFile] = await readdir(tbDir);
  const legacy = scalarSeries((await readEventFile(join(tbDir, tbFile))).events).get('legacy')!;
  assert.deepEqual(
    legacy.map((p) => [p.step, p.wallTime, p.value]),
    float32.map((v, i) => [i, 1700000000 + i, v]),
  );
});

const accumulatorSteps = `
import json, sys
args = json.loads(sys.argv[1])
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
ea = EventAccumulator(args["path"], size_guidance={"tensors": 0}).Reload()
print(json.dumps({"steps": [t.step for t in ea.Tensors("x")]}))
`;

test('a truncated last record: our reader and EventAccumulator keep every earlier record', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'events-reader-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const writer = await EventFileWriter.open(dir);
  for (let step = 0; step < 10; step++) writer.addScalar('x', step, step);
  await writer.close();
  const whole = await readFile(writer.path);
  const cut = whole.subarray(0, whole.length - 7);
  await writeFile(writer.path, cut);

  const { events, truncatedTail } = await readEventFile(writer.path);
  assert.ok(truncatedTail, 'the cut record should be reported');
  assert.equal(truncatedTail.bytes, whole.length - 7 - truncatedTail.offset);
  assert.deepEqual(
    scalarSeries(events)
      .get('x')!
      .map((p) => p.step),
    [0, 1, 2, 3, 4, 5, 6, 7, 8],
  );
  const python = await runPythonJson<{ steps: number[] }>(accumulatorSteps, { input: { path: writer.path } });
  assert.deepEqual(python.steps, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

test('a corrupted payload: the reader names the file, record and byte offset', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'events-reader-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const writer = await EventFileWriter.open(dir);
  for (let step = 0; step < 5; step++) writer.addScalar('x', step, step);
  await writer.close();
  const data = await readFile(writer.path);
  const { events } = await readEventFile(writer.path);
  assert.equal(events.length, 7);
  // Find record 4 (the scalar at step 2) by walking the length fields, then flip a payload byte.
  let offset = 0;
  for (let i = 0; i < 4; i++) offset += Number(data.readBigUInt64LE(offset)) + 16;
  data[offset + 14] ^= 0xff;
  await writeFile(writer.path, data);
  await assert.rejects(readEventFile(writer.path), (e: unknown) => {
    assert.ok(e instanceof RecordCorruptError);
    assert.equal(e.recordIndex, 4);
    assert.equal(e.offset, offset);
    assert.ok(
      e.message.startsWith(`${writer.path}: record 4 at byte ${offset} has a bad payload CRC`),
      e.message,
    );
    return true;
  });
});
