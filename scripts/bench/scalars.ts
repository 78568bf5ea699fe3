// Scalars/s written to a TensorBoard event file: our EventFileWriter (in-process) against TensorBoard's own Python
// writers in .tools/venv writing the same scalars in the same modern form, measured in the same run.
// Each side is timed from opening its writer to closing it (all data on disk), excluding interpreter start-up.
//   npm run bench:scalars -- [--n 100000] [--tf-n 20000]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { EventFileWriter, readEventFile, scalarSeries } from '../../tensorboard-format/index.ts';

const { values: args } = parseArgs({
  options: { n: { type: 'string', default: '100000' }, 'tf-n': { type: 'string', default: '20000' } },
});
const n = Number(args.n);
const tfN = Number(args['tf-n']);
if (!Number.isInteger(n) || n < 1 || !Number.isInteger(tfN) || tfN < 0) {
  throw new Error(
    `--n and --tf-n must be positive integers (got ${args.n}, ${args['tf-n']}); e.g. --n 100000 --tf-n 20000`,
  );
}
const venvPython = fileURLToPath(new URL('../../.tools/venv/bin/python', import.meta.url));
const value = (i: number) => Math.sin(i) * 10;

async function ours(dir: string): Promise<number> {
  const start = process.hrtime.bigint();
  const writer = await EventFileWriter.open(dir);
  for (let step = 0; step < n; step++) writer.addScalar('loss', value(step), step);
  await writer.close();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const pythonPeers = `
import json, math, sys, time
args = json.loads(sys.argv[1])
out = {}
from tensorboard.summary.writer.event_file_writer import EventFileWriter
from tensorboard.compat.proto import event_pb2
from tensorboard.plugins.scalar.summary import scalar_pb
start = time.perf_counter()
w = EventFileWriter(args["tb_dir"])
for step in range(args["n"]):
    w.add_event(event_pb2.Event(step=step, wall_time=time.time(), summary=scalar_pb("loss", math.sin(step) * 10)))
w.close()
out["tensorboard"] = time.perf_counter() - start
if args["tf_n"] > 0:
    import tensorflow as tf
    start = time.perf_counter()
    w = tf.summary.create_file_writer(args["tf_dir"])
    with w.as_default():
        for step in range(args["tf_n"]):
            tf.summary.scalar("loss", math.sin(step) * 10, step=step)
    w.close()
    out["tf"] = time.perf_counter() - start
print(json.dumps(out))
`;

function countScalars(dir: string): Promise<number> {
  const [file] = readdirSync(dir).filter((f) => f.includes('tfevents'));
  return readEventFile(join(dir, file)).then(({ events }) => scalarSeries(events).get('loss')?.length ?? 0);
}

const root = mkdtempSync(join(tmpdir(), 'bench-scalars-'));
try {
  const dirs = { ours: join(root, 'ours'), tb: join(root, 'tb'), tf: join(root, 'tf') };
  const oursSeconds = await ours(dirs.ours);
  const py = spawnSync(
    venvPython,
    ['-c', pythonPeers, JSON.stringify({ n, tf_n: tfN, tb_dir: dirs.tb, tf_dir: dirs.tf })],
    {
      encoding: 'utf8',
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
    },
  );
  if (py.status !== 0)
    throw new Error(`python peers failed (is .tools/venv set up? see scripts/setup):\n${py.stderr}`);
  const peers = JSON.parse(py.stdout.trim().split('\n').at(-1)!) as { tensorboard: number; tf?: number };

  // Check every writer wrote what it was timed for, so a fast but broken writer cannot win.
  const counts = {
    ours: await countScalars(dirs.ours),
    tb: await countScalars(dirs.tb),
    tf: tfN > 0 ? await countScalars(dirs.tf) : 0,
  };
  if (counts.ours !== n || counts.tb !== n || counts.tf !== tfN)
    throw new Error(`scalar counts differ from requested: ${JSON.stringify(counts)}`);

  const rate = (count: number, seconds: number) => count / seconds;
  const oursRate = rate(n, oursSeconds);
  const rows: [string, number, number][] = [
    ['patchwork EventFileWriter (node)', n, oursRate],
    ['tensorboard EventFileWriter + scalar_pb (python)', n, rate(n, peers.tensorboard)],
  ];
  if (peers.tf !== undefined) rows.push(['tf.summary.scalar (python, TF 2.21)', tfN, rate(tfN, peers.tf)]);
  console.log(`scalars written to one event file, one scalar per event, timed open..close`);
  for (const [name, count, r] of rows) {
    const ratio = name.startsWith('patchwork') ? '' : `   ours/peer = ${(oursRate / r).toFixed(2)}x`;
    console.log(
      `${name.padEnd(50)} n=${String(count).padStart(7)}  ${Math.round(r).toLocaleString('en-US').padStart(10)} scalars/s${ratio}`,
    );
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
