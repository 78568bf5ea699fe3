// Scalars/s end to end: TrackerClient -> HTTP -> tracker process -> event file on disk, against TensorBoard's own
// Python EventFileWriter writing the same scalars (same tags and steps, simple_value form, one event per step) in the
// same run. Our side is timed from TrackerClient.start to flush() resolving (every batch acknowledged, i.e. written
// to the file); Python from opening its writer to close(). Both files are read back and counted.
//   npm run bench:tracker -- [--steps 50000] [--tags 4] [--batch 5000]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { TrackerClient } from '../../tracker-client/client.ts';
import { readEventFile, scalarSeries } from '../../tensorboard-format/index.ts';
import { eventFiles } from '../../tracker/runs/scan.ts';
import { startTracker } from '../../tests/helpers/tracker.ts';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '50000' },
    tags: { type: 'string', default: '4' },
    batch: { type: 'string', default: '5000' },
  },
});
const steps = Number(args.steps);
const tagCount = Number(args.tags);
const batchSize = Number(args.batch);
for (const [name, v] of [['--steps', steps], ['--tags', tagCount], ['--batch', batchSize]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
}
const tags = Array.from({ length: tagCount }, (_, i) => `metric_${i}`);
const total = steps * tagCount;
const venvPython = fileURLToPath(new URL('../../.tools/venv/bin/python', import.meta.url));

const pythonPeer = `
import json, math, sys, time
args = json.loads(sys.argv[1])
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.compat.proto import event_pb2, summary_pb2
tags = args["tags"]
start = time.perf_counter()
w = EventFileWriter(args["dir"])
for step in range(args["steps"]):
    values = [summary_pb2.Summary.Value(tag=t, simple_value=math.sin(step + i)) for i, t in enumerate(tags)]
    w.add_event(event_pb2.Event(step=step, wall_time=time.time(), summary=summary_pb2.Summary(value=values)))
w.close()
print(json.dumps({"seconds": time.perf_counter() - start}))
`;

async function countScalars(dir: string): Promise<number> {
  let n = 0;
  for (const file of eventFiles(dir)) {
    for (const points of scalarSeries((await readEventFile(file)).events).values()) n += points.length;
  }
  return n;
}

const root = mkdtempSync(join(tmpdir(), 'bench-tracker-'));
const tracker = await startTracker(join(root, 'home'), 'bench-token');
try {
  const start = process.hrtime.bigint();
  const { client } = await TrackerClient.start({
    url: tracker.url,
    token: tracker.token,
    run: 'bench',
    spoolDir: join(root, 'spool'),
    batchSize,
    maxBufferedItems: total + 1,
  });
  for (let step = 0; step < steps; step++) {
    for (let i = 0; i < tagCount; i++) client.scalar(tags[i], step, Math.sin(step + i));
    if (step % 1000 === 999) await new Promise((r) => setImmediate(r)); // let the sender run, as a training loop would
  }
  await client.flush();
  const ours = Number(process.hrtime.bigint() - start) / 1e9;
  await client.close({ status: 'completed' });

  const pyDir = join(root, 'python');
  const py = spawnSync(venvPython, ['-c', pythonPeer, JSON.stringify({ steps, tags, dir: pyDir })], {
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
  });
  if (py.status !== 0) throw new Error(`python peer failed (is .tools/venv set up? see scripts/setup):\n${py.stderr}`);
  const python = JSON.parse(py.stdout.trim().split('\n').at(-1)!).seconds as number;

  const [oursCount, pyCount] = await Promise.all([countScalars(join(tracker.logDir, 'bench')), countScalars(pyDir)]);
  if (oursCount !== total || pyCount !== total) {
    throw new Error(`expected ${total} scalars on disk, tracker wrote ${oursCount}, python wrote ${pyCount}`);
  }
  const rate = (s: number) => Math.round(total / s);
  console.log(`${total} scalars (${steps} steps x ${tagCount} tags), batch ${batchSize}`);
  console.log(`tracker end to end (client -> HTTP -> file): ${ours.toFixed(3)} s, ${rate(ours)} scalars/s`);
  console.log(`TensorBoard Python EventFileWriter (in-process): ${python.toFixed(3)} s, ${rate(python)} scalars/s`);
  console.log(`ratio tracker / python: ${(python / ours).toFixed(2)}x`);
} finally {
  await tracker.stop();
  rmSync(root, { recursive: true, force: true });
}
