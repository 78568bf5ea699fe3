// Input pipeline throughput: the pipeline the trainers use (ml/methods/plan.ts openTrainingBatches: one task per batch
// on the decode pool's worker threads, which read the local files, decode, resize, augment and assemble the batch;
// batches prefetched) against tf.data
// (parallel map, AUTOTUNE) and a plain PIL loop, all doing decode -> bilinear resize -> /255 -> random left-right flip
// -> random brightness -> clip, measured in the same run on the same files.
//   npm run bench:pipeline [-- --png 2000 --jpeg 500 --threads N --parallel 8 --batch 64] [--smoke]
// --threads: decode-pool threads (default: every core, since nothing trains here; training uses cores - 1).
// --parallel: reads in flight per batch (num_parallel_calls), with --main-thread-reads: files read on the main thread
// and their bytes sent to the pool, as S3 sources were read before the pool threads fetched their objects too. --smoke:
// 200 PNGs, 40 JPEGs, one pass each.
// --shrink-on-load: one more JPEG row with input.jpeg_shrink_on_load (libvips resizes; not tf.image.resize-exact).
// Python comes from .tools/venv (tensorflow-cpu, pillow, numpy). Files are cached in $TMPDIR/patchwork-bench-pipeline.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closeDecodePool, parseInputOptions, resolveAugment } from '../../ml/data/index.ts';
import { openTrainingBatches } from '../../ml/methods/plan.ts';
import { FASHION_MNIST_TRAIN, fashionMnistPngs, syntheticJpegs } from './lib/bench-images.ts';

const { values: args } = parseArgs({
  options: {
    png: { type: 'string' },
    jpeg: { type: 'string' },
    threads: { type: 'string', default: String(availableParallelism()) },
    parallel: { type: 'string', default: '8' },
    batch: { type: 'string', default: '64' },
    fmnist: { type: 'string', default: FASHION_MNIST_TRAIN },
    smoke: { type: 'boolean', default: false },
    'shrink-on-load': { type: 'boolean', default: false },
    'main-thread-reads': { type: 'boolean', default: false },
  },
});
const pngCount = Number(args.png ?? (args.smoke ? 200 : 2000));
const jpegCount = Number(args.jpeg ?? (args.smoke ? 40 : 500));
const threads = Number(args.threads);
const parallel = Number(args.parallel);
const batchSize = Number(args.batch);
const repoRoot = new URL('../..', import.meta.url).pathname;
const python = join(repoRoot, '.tools/venv/bin/python');
const workDir = join(tmpdir(), 'patchwork-bench-pipeline');
/** Every contender reports its best of this many full passes, which filters out other processes' bursts. */
const REPEATS = args.smoke ? 1 : 3;

async function ours(paths: string[], imshape: [number, number], channels: number, shrinkOnLoad = false): Promise<number> {
  const input = parseInputOptions({
    imshape,
    num_channels: channels,
    batch_size: batchSize,
    num_parallel_calls: parallel,
    jpeg_shrink_on_load: shrinkOnLoad,
  });
  const augment = resolveAugment({ left_right_flip: true, max_brightness_delta: 0.2 });
  const run = async (keys: string[]) => {
    const steps = Math.ceil(keys.length / batchSize);
    const batches = openTrainingBatches({
      keysAt: (step) => keys.slice(step * batchSize, (step + 1) * batchSize),
      read: (key) => readFile(key),
      // Keys are paths: the pool threads read them, as they do for a run whose source is a local folder.
      filePath: args['main-thread-reads'] ? undefined : (key) => key,
      input,
      augment,
      seed: 1,
      fromStep: 0,
      toStep: steps,
      threads,
      onSkip: (key, reason) => {
        throw new Error(`bench: ${key} skipped: ${reason}`);
      },
    });
    try {
      let seen = 0;
      for (let step = 0; step < steps; step++) seen += (await batches.next()).keys.length;
      if (seen !== keys.length) throw new Error(`bench: ${seen} of ${keys.length} images loaded`);
    } finally {
      await batches.close();
    }
  };
  await run(paths.slice(0, Math.min(200, paths.length))); // warm-up: pool threads, sharp/libvips initialisation, JIT
  let best = 0;
  for (let rep = 0; rep < REPEATS; rep++) {
    const t0 = process.hrtime.bigint();
    await run(paths);
    best = Math.max(best, paths.length / (Number(process.hrtime.bigint() - t0) / 1e9));
  }
  return best;
}

const PYTHON_BENCH = String.raw`
import json, sys, time, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
from PIL import Image
import tensorflow as tf
spec = json.loads(sys.stdin.read())
spec_repeats = spec.pop("repeats")
def tfdata(paths, h, w, channels, png, batch):
    def load(path):
        b = tf.io.read_file(path)
        im = tf.io.decode_png(b, channels=channels) if png else tf.io.decode_jpeg(b, channels=channels)
        im = tf.image.resize(im, [h, w]) / 255.0
        im = tf.image.random_flip_left_right(im)
        im = tf.image.random_brightness(im, 0.2)
        return tf.clip_by_value(im, 0.0, 1.0)
    ds = tf.data.Dataset.from_tensor_slices(paths).map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(batch).prefetch(tf.data.AUTOTUNE)
    for _ in ds.take(3): pass
    best = 0
    for _ in range(spec_repeats):
        t0 = time.perf_counter(); n = 0
        for x in ds: n += int(x.shape[0])
        assert n == len(paths)
        best = max(best, n / (time.perf_counter() - t0))
    return best
def pil(paths, h, w, channels, batch):
    rng = np.random.default_rng(1)
    def one(p):
        im = Image.open(p)
        im = im.convert("L" if channels == 1 else "RGB").resize((w, h), Image.BILINEAR)
        a = np.asarray(im, dtype=np.float32) / 255.0
        if rng.random() < 0.5: a = a[:, ::-1]
        return np.clip(a + rng.uniform(-0.2, 0.2), 0.0, 1.0)
    best = 0
    for _ in range(spec_repeats):
        t0 = time.perf_counter(); n = 0
        for i in range(0, len(paths), batch):
            x = np.stack([one(p) for p in paths[i:i + batch]]); n += x.shape[0]
        best = max(best, n / (time.perf_counter() - t0))
    return best
out = {}
for name, s in spec.items():
    out[name] = {"tfdata": tfdata(s["paths"], s["h"], s["w"], s["channels"], s["png"], s["batch"]),
                 "pil": pil(s["paths"], s["h"], s["w"], s["channels"], s["batch"])}
print(json.dumps(out))
`;

function peers(
  spec: Record<
    string,
    { paths: string[]; h: number; w: number; channels: number; png: boolean; batch: number }
  >,
) {
  if (!existsSync(python))
    throw new Error(`bench: ${python} not found; run the project setup to create .tools/venv`);
  // The spec goes through stdin: 2 500 paths are more than one command-line argument may hold.
  const res = spawnSync(python, ['-c', PYTHON_BENCH], {
    input: JSON.stringify({ ...spec, repeats: REPEATS }),
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (res.status !== 0)
    throw new Error(`bench: python peer failed: ${res.error?.message ?? ''}\n${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop()!) as Record<string, { tfdata: number; pil: number }>;
}

const pngs = await fashionMnistPngs(join(workDir, 'fmnist-png'), pngCount, args.fmnist);
const jpegs = await syntheticJpegs(join(workDir, 'jpeg-512'), jpegCount, 512);
console.log(
  `files in ${workDir}: ${readdirSync(join(workDir, 'fmnist-png')).length} png, ${readdirSync(join(workDir, 'jpeg-512')).length} jpeg`,
);
console.log(
  `ours: decode pool of ${threads} thread(s), ${args['main-thread-reads'] ? `files read on the main thread, ${parallel} in flight per batch` : 'files read by the pool threads'}, batch ${batchSize}; cores: ${availableParallelism()}; load ${loadavg()[0]!.toFixed(1)}`,
);

const oursPng = await ours(pngs, [64, 64], 1);
const oursJpeg = await ours(jpegs, [256, 256], 3);
const oursJpegShrunk = args['shrink-on-load'] ? await ours(jpegs, [256, 256], 3, true) : undefined;
await closeDecodePool();
const py = peers({
  png: { paths: pngs, h: 64, w: 64, channels: 1, png: true, batch: batchSize },
  jpeg: { paths: jpegs, h: 256, w: 256, channels: 3, png: false, batch: batchSize },
});
const rows: Array<readonly [string, number, number, number]> = [
  [`fashion-mnist png 28->64 (${pngs.length})`, oursPng, py.png!.tfdata, py.png!.pil],
  [`jpeg 512->256 (${jpegs.length})`, oursJpeg, py.jpeg!.tfdata, py.jpeg!.pil],
];
if (oursJpegShrunk !== undefined) rows.push(['  same, jpeg_shrink_on_load', oursJpegShrunk, py.jpeg!.tfdata, py.jpeg!.pil]);
const fmt = (x: number) => x.toFixed(0).padStart(8);
console.log(
  `\n${'case'.padEnd(32)}${'ours'.padStart(8)}${'tf.data'.padStart(8)}${'PIL'.padStart(8)}  ours/tf.data  ours/PIL   (images/s)`,
);
for (const [name, o, t, p] of rows) {
  console.log(`${name.padEnd(32)}${fmt(o)}${fmt(t)}${fmt(p)}  ${(o / t).toFixed(2).padStart(11)}x ${(o / p).toFixed(2).padStart(8)}x`);
}
console.log(
  `load average at the end: ${loadavg()[0]!.toFixed(1)} (the peers ran last; compare runs taken on a quiet machine)`,
);
writeFileSync(join(workDir, 'last-result.json'), JSON.stringify({ threads, parallel, batchSize, rows }, null, 2));
