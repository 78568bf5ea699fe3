// Input pipeline throughput: ml/data (sharp + typed arrays) against tf.data (parallel map, AUTOTUNE) and a plain PIL
// loop, all doing decode -> bilinear resize -> /255 -> random left-right flip -> random brightness -> clip, measured
// in the same run on the same files.
//   npm run bench:pipeline [-- --png 2000 --jpeg 500 --parallel 8]
// num_parallel_calls defaults to 8 here: reads are I/O, so more in flight than cores keeps the decoders busy.
// Python comes from .tools/venv (tensorflow-cpu, pillow, numpy). Files are cached in $TMPDIR/patchwork-bench-pipeline.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { loadBatches } from '../../ml/data/index.ts';
import { Rng } from '../../ml/rng.ts';

const { values: args } = parseArgs({
  options: {
    png: { type: 'string', default: '2000' },
    jpeg: { type: 'string', default: '500' },
    parallel: { type: 'string', default: '8' },
    batch: { type: 'string', default: '64' },
    fmnist: { type: 'string', default: '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz' },
  },
});
const pngCount = Number(args.png);
const jpegCount = Number(args.jpeg);
const parallel = Number(args.parallel);
const batchSize = Number(args.batch);
const repoRoot = new URL('../..', import.meta.url).pathname;
const python = join(repoRoot, '.tools/venv/bin/python');
const workDir = join(tmpdir(), 'patchwork-bench-pipeline');
/** Every contender reports its best of this many full passes, which filters out other processes' bursts. */
const REPEATS = 3;

async function fashionMnistPngs(dir: string, count: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const names = Array.from({ length: count }, (_, i) => join(dir, `${String(i).padStart(5, '0')}.png`));
  if (names.every((n) => existsSync(n))) return names;
  if (!existsSync(args.fmnist))
    throw new Error(`bench: ${args.fmnist} not found; pass --fmnist <train-images-idx3-ubyte.gz>`);
  const idx = gunzipSync(readFileSync(args.fmnist));
  const view = new DataView(idx.buffer, idx.byteOffset, idx.byteLength);
  if (view.getUint32(0) !== 2051) throw new Error(`bench: ${args.fmnist} is not an idx3 image file`);
  const [n, rows, cols] = [view.getUint32(4), view.getUint32(8), view.getUint32(12)];
  if (count > n) throw new Error(`bench: --png ${count} but the file has only ${n} images`);
  for (let i = 0; i < count; i++) {
    const pixels = idx.subarray(16 + i * rows * cols, 16 + (i + 1) * rows * cols);
    await sharp(pixels, { raw: { width: cols, height: rows, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(names[i]!);
  }
  return names;
}

/** Smooth random colour fields plus fine noise, so the JPEGs carry photo-like detail rather than flat colour. */
async function syntheticJpegs(dir: string, count: number, size: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const names = Array.from({ length: count }, (_, i) => join(dir, `${String(i).padStart(5, '0')}.jpg`));
  if (names.every((n) => existsSync(n))) return names;
  const rng = Rng.fromSeed(7);
  for (let i = 0; i < count; i++) {
    const coarse = Uint8Array.from({ length: 16 * 16 * 3 }, () => rng.integer(0, 256));
    const smooth = await sharp(coarse, { raw: { width: 16, height: 16, channels: 3 } })
      .resize(size, size, { kernel: 'cubic' })
      .raw()
      .toBuffer();
    for (let j = 0; j < smooth.length; j++)
      smooth[j] = Math.max(0, Math.min(255, smooth[j]! + rng.integer(-24, 25)));
    await sharp(smooth, { raw: { width: size, height: size, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(names[i]!);
  }
  return names;
}

type Read = (key: string) => Promise<Uint8Array>;
/** What a storage layer would do: every read is async (open, stat, read, close on libuv's thread pool). */
const readAsync: Read = (key) => readFile(key);
/** The cheapest read for local files: blocks the main thread briefly, no thread-pool round trips. */
const readBlocking: Read = async (key) => readFileSync(key);

async function ours(
  paths: string[],
  imshape: [number, number],
  channels: number,
  read: Read,
): Promise<number> {
  const run = async (keys: string[]) => {
    const stream = loadBatches({
      keys,
      read,
      input: {
        imshape,
        num_channels: channels,
        batch_size: batchSize,
        num_parallel_calls: parallel,
        prefetch: 2,
      },
      augment: { left_right_flip: true, max_brightness_delta: 0.2 },
      rng: Rng.fromSeed(1),
    });
    let seen = 0;
    for await (const batch of stream) seen += batch.keys.length;
    if (stream.skipped.length > 0 || seen !== keys.length)
      throw new Error(`bench: skipped ${JSON.stringify(stream.skipped)}`);
  };
  await run(paths.slice(0, Math.min(200, paths.length))); // warm-up: sharp/libvips initialisation, JIT
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

const pngs = await fashionMnistPngs(join(workDir, 'fmnist-png'), pngCount);
const jpegs = await syntheticJpegs(join(workDir, 'jpeg-512'), jpegCount, 512);
console.log(
  `files in ${workDir}: ${readdirSync(join(workDir, 'fmnist-png')).length} png, ${readdirSync(join(workDir, 'jpeg-512')).length} jpeg`,
);
console.log(
  `ml/data: num_parallel_calls=${parallel}, batch ${batchSize}; cores: ${availableParallelism()}; load ${loadavg()[0]!.toFixed(1)}`,
);

const oursPng = await ours(pngs, [64, 64], 1, readAsync);
const oursJpeg = await ours(jpegs, [256, 256], 3, readAsync);
const oursPngSync = await ours(pngs, [64, 64], 1, readBlocking);
const oursJpegSync = await ours(jpegs, [256, 256], 3, readBlocking);
const py = peers({
  png: { paths: pngs, h: 64, w: 64, channels: 1, png: true, batch: batchSize },
  jpeg: { paths: jpegs, h: 256, w: 256, channels: 3, png: false, batch: batchSize },
});
const rows = [
  ['fashion-mnist png 28->64', oursPng, py.png!.tfdata, py.png!.pil],
  ['  same, readFileSync', oursPngSync, py.png!.tfdata, py.png!.pil],
  ['jpeg 512->256', oursJpeg, py.jpeg!.tfdata, py.jpeg!.pil],
  ['  same, readFileSync', oursJpegSync, py.jpeg!.tfdata, py.jpeg!.pil],
] as const;
const fmt = (x: number) => x.toFixed(0).padStart(8);
console.log(
  `\n${'case'.padEnd(26)}${'ml/data'.padStart(8)}${'tf.data'.padStart(8)}${'PIL'.padStart(8)}  ratio vs tf.data  vs PIL   (images/s)`,
);
for (const [name, o, t, p] of rows) {
  console.log(
    `${name.padEnd(26)}${fmt(o)}${fmt(t)}${fmt(p)}  ${(o / t).toFixed(2).padStart(14)}x ${(o / p).toFixed(2).padStart(6)}x`,
  );
}
console.log(
  `load average at the end: ${loadavg()[0]!.toFixed(1)} (the peers ran last; compare runs taken on a quiet machine)`,
);
writeFileSync(join(workDir, 'last-result.json'), JSON.stringify({ parallel, batchSize, rows }, null, 2));
