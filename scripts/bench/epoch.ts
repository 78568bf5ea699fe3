// One DeepCluster training epoch, ours against Keras, on the same images, model, batch size, pseudo-labels and
// augmentation (random left-right flip and brightness, then clip), measured in the same run:
//   ours:  createTrainer('deepcluster') (BNAlexNetFCN, dense [256], SGD with momentum) fed by openTrainingBatches, the
//          pipeline the training activity uses for a local folder (decode pool threads read the files, one task per
//          batch, prefetch); --main-thread-reads sends the bytes from the main thread instead (how every source was read before);
//   Keras: the same network, model.fit on tf.data (parallel map, AUTOTUNE, prefetch), TensorFlow 2.21 in .tools/venv.
// Both train on the epoch's cluster-uniform sample of fixed random pseudo-labels (no k-means refit, which is not part
// of model.fit) and run a few warm-up steps first. Printed: seconds per epoch, the ratio, and our input statistics.
//   npm run bench:epoch [-- --images 1000 --batch 64 --size 64 --k 30 --format png|jpeg --threads N] [--smoke]
// png: Fashion-MNIST 28 x 28 grey PNGs resized to size x size x 3; jpeg: synthetic 512 x 512 JPEGs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { loadavg, tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../../ml/backend.ts';
import { closeDecodePool, defaultDecodeThreads, parseInputOptions, resolveAugment } from '../../ml/data/index.ts';
import { installNativeKernels } from '../../ml/kernels/native/index.ts';
import { createTrainer, type DeepClusterTrainer } from '../../ml/methods/index.ts';
import { STREAM, derivedSeed, epochOrder, epochPlan, openTrainingBatches, stepIndices } from '../../ml/methods/plan.ts';
import { Rng } from '../../ml/rng.ts';
import { FASHION_MNIST_TRAIN, fashionMnistPngs, syntheticJpegs } from './lib/bench-images.ts';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string' },
    batch: { type: 'string' },
    size: { type: 'string', default: '64' },
    k: { type: 'string', default: '30' },
    format: { type: 'string', default: 'png' },
    threads: { type: 'string' },
    warmup: { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
    fmnist: { type: 'string', default: FASHION_MNIST_TRAIN },
    smoke: { type: 'boolean', default: false },
    'main-thread-reads': { type: 'boolean', default: false },
  },
});
const count = Number(args.images ?? (args.smoke ? 96 : 1000));
const batchSize = Number(args.batch ?? (args.smoke ? 32 : 64));
const size = Number(args.size);
const k = Number(args.k);
const seed = Number(args.seed);
const warmupSteps = Number(args.warmup);
const threads = args.threads === undefined ? defaultDecodeThreads() : Number(args.threads);
if (args.format !== 'png' && args.format !== 'jpeg') throw new Error(`bench: --format is png or jpeg, got ${args.format}`);
const repoRoot = new URL('../..', import.meta.url).pathname;
const python = join(repoRoot, '.tools/venv/bin/python');
if (!existsSync(python)) throw new Error(`bench: ${python} not found; run the project setup to create .tools/venv`);

const workDir = join(tmpdir(), 'patchwork-bench-pipeline');
const files =
  args.format === 'png'
    ? await fashionMnistPngs(join(workDir, 'fmnist-png'), count, args.fmnist)
    : await syntheticJpegs(join(workDir, 'jpeg-512'), count, 512);

/** Keys are paths; the pool threads read them unless asked to read on the main thread. */
const filePath = args['main-thread-reads'] ? undefined : (key: string) => key;

const methodConfig = { k, pca_dim: 32, dense: [256], lr: 0.01, lr_decay: 0 };
const input = parseInputOptions({ imshape: [size, size], num_channels: 3, single_channel: true, batch_size: batchSize });
const augmentOption = { left_right_flip: true, max_brightness_delta: 0.2 };
const augment = resolveAugment(augmentOption);

const { name: backend } = await initBackend({ purpose: 'train' });
installNativeKernels();
const trainer = createTrainer('deepcluster', {
  config: methodConfig,
  inputShape: [size, size, 3],
  rng: Rng.fromSeed(derivedSeed(seed, STREAM.trainer, 0)),
  seed,
}) as DeepClusterTrainer;
trainer.setFileList(files);
const labelRng = Rng.fromSeed(seed);
trainer.state.labels = files.map(() => labelRng.integer(0, k));
trainer.resetHeadIfNeeded(0);
const plan = epochPlan({ method: 'deepcluster', files: files.length, batchSize });
const sample = trainer.epochSample(Rng.fromSeed(derivedSeed(seed, STREAM.epochOrder, 0)));
const order = epochOrder({ files: files.length, stepsPerEpoch: plan.stepsPerEpoch, batchSize, seed, epoch: 0, sample });
const keysAt = (step: number) => stepIndices(order, step % plan.stepsPerEpoch, batchSize).map((i) => files[i]!);

console.log(
  `DeepCluster epoch: ${files.length} ${args.format} images -> ${size}x${size}x3, ${plan.stepsPerEpoch} steps of ${batchSize}, ` +
    `k ${k}, dense [256]; backend ${backend}; decode pool ${threads} thread(s)${filePath ? '' : ', files read on the main thread'}; cores ${availableParallelism()}; load ${loadavg()[0]!.toFixed(1)}`,
);

async function train(fromStep: number, toStep: number) {
  const batches = openTrainingBatches({ keysAt, read: (key) => readFile(key), filePath, input, augment, seed, fromStep, toStep, threads });
  let loss = 0;
  try {
    for (let step = fromStep; step < toStep; step++) loss += (await trainer.trainStep(await batches.next(), step)).loss!;
  } finally {
    await batches.close();
  }
  return { loss: loss / Math.max(1, toStep - fromStep), stats: batches.stats() };
}

await train(plan.stepsPerEpoch, plan.stepsPerEpoch + warmupSteps); // warm-up on steps past the epoch: threads, kernels
const started = performance.now();
const ours = await train(0, plan.stepsPerEpoch);
const oursSeconds = (performance.now() - started) / 1000;
trainer.dispose();
await closeDecodePool();

const peer = spawnSync(python, [join(repoRoot, 'scripts/bench/epoch-keras.py')], {
  input: JSON.stringify({
    paths: Array.from(order, (i) => files[i]!),
    labels: Array.from(order, (i) => trainer.state.labels[i]!),
    imshape: [size, size],
    channels: 3,
    single_channel: true,
    batch_size: batchSize,
    augment: augment!,
    dense: methodConfig.dense,
    k,
    lr: methodConfig.lr,
    seed,
    warmup_steps: warmupSteps,
  }),
  encoding: 'utf8',
  maxBuffer: 1 << 24,
});
if (peer.status !== 0) throw new Error(`bench: the Keras peer failed: ${peer.error?.message ?? ''}\n${peer.stderr}`);
const keras = JSON.parse(peer.stdout.trim().split('\n').pop()!) as { seconds: number; loss: number; images: number };

const images = plan.stepsPerEpoch * batchSize;
const row = (name: string, seconds: number, loss: number) =>
  `${name.padEnd(34)}${seconds.toFixed(2).padStart(9)} s${(images / seconds).toFixed(0).padStart(9)} img/s   mean loss ${loss.toFixed(3)}`;
console.log(`\n${row('ours (createTrainer + pool)', oursSeconds, ours.loss)}`);
console.log(row('Keras model.fit + tf.data', keras.seconds, keras.loss));
console.log(`ours / Keras time: ${(oursSeconds / keras.seconds).toFixed(2)}x (below 1: ours is faster)`);
console.log(
  `ours waited for input ${(100 * ours.stats.inputWaitFraction).toFixed(1)} % of the epoch (${(ours.stats.waitMs / 1000).toFixed(2)} s); ` +
    `load average at the end: ${loadavg()[0]!.toFixed(1)}`,
);
