// npm run bench:overhead: what orchestration costs. The same IIC training steps, from the same seed, run twice:
//   - through pretrainWorkflow on a Temporal dev server, a worker process and a tracker (activities, checkpoints,
//     heartbeats, logging to the tracker, the model export at the end), with the workflow's default chunking;
//   - as a bare loop in this process: createTrainer, the same input pipeline, trainStep, nothing else.
// Prints both wall times, the overhead in percent, per activity and per checkpoint (from perf/checkpoint_seconds).
// Run it alone on the machine.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectClient } from '../../cli/temporal-client.ts';
import { TASK_QUEUES } from '../../contracts/task-queues.ts';
import { initBackend } from '../../ml/backend.ts';
import { closeDecodePool } from '../../ml/data/index.ts';
import { installNativeKernels } from '../../ml/kernels/native/index.ts';
import { createTrainer } from '../../ml/methods/index.ts';
import { STREAM, derivedSeed, epochOrder, epochPlan, openTrainingBatches, stepIndices } from '../../ml/methods/plan.ts';
import { validatePretrainRequest } from '../../ml/methods/run-config.ts';
import { Rng } from '../../ml/rng.ts';
import { readEventFile, scalarSeries } from '../../tensorboard-format/index.ts';
import { startStack } from '../../tests/helpers/stack.ts';
import { startTracker } from '../../tests/helpers/tracker.ts';
import { pretrainWorkflow } from '../../workflows/index.ts';
import { FASHION_MNIST_TRAIN, fashionMnistPngs } from './lib/bench-images.ts';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '512' },
    size: { type: 'string', default: '32' },
    batch: { type: 'string', default: '32' },
    epochs: { type: 'string', default: '2' },
    'steps-per-activity': { type: 'string' },
    'checkpoint-every': { type: 'string' },
    seed: { type: 'string', default: '1' },
    smoke: { type: 'boolean', default: false },
  },
});
const count = Number(args.smoke ? 64 : args.images);
const epochs = Number(args.smoke ? 1 : args.epochs);
const seed = Number(args.seed);
const size = Number(args.size);
const config = { input: { imshape: [size, size], batch_size: Number(args.batch), single_channel: true }, k: 10, k_oc: 25, h: 2, r: 2, lr: 0.001 };
const chunking = {
  ...(args['steps-per-activity'] ? { stepsPerActivity: Number(args['steps-per-activity']) } : {}),
  ...(args['checkpoint-every'] ? { checkpointEvery: Number(args['checkpoint-every']) } : {}),
};

const files = await fashionMnistPngs(join(tmpdir(), 'patchwork-bench-overhead'), count, FASHION_MNIST_TRAIN);
const folder = dirname(files[0]!);
const keys = files.map((f) => basename(f)).sort();
const run = validatePretrainRequest({ method: 'iic', config, epochs });
const plan = epochPlan({ method: 'iic', files: keys.length, batchSize: run.input.batch_size, r: config.r });
const totalSteps = plan.stepsPerEpoch * epochs;
console.log(
  `IIC, ${keys.length} Fashion-MNIST PNGs -> ${size}x${size}, batch ${run.input.batch_size} (r ${config.r}), ${epochs} epoch(s) ` +
    `= ${totalSteps} steps; cores ${availableParallelism()}; load ${loadavg()[0]!.toFixed(1)}`,
);

/** The training loop of a pretraining activity without the activity: same trainer, seed, order and pipeline. */
async function bareLoop(): Promise<number> {
  await initBackend({ purpose: 'train' });
  installNativeKernels();
  const started = performance.now();
  const trainer = createTrainer('iic', {
    config: run.method,
    inputShape: [size, size, run.input.sobel ? 3 : run.input.num_channels],
    rng: Rng.fromSeed(derivedSeed(seed, STREAM.trainer, 0)),
    seed,
    augment: run.augment ?? undefined,
    pairsPerStep: run.input.batch_size,
  });
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = epochOrder({ files: keys.length, stepsPerEpoch: plan.stepsPerEpoch, batchSize: plan.imagesPerStep, seed, epoch });
    const first = epoch * plan.stepsPerEpoch;
    const batches = openTrainingBatches({
      keysAt: (step) => stepIndices(order, step - first, plan.imagesPerStep).map((i) => keys[i]!),
      read: (key) => readFile(join(folder, key)),
      input: run.input,
      augment: run.augment,
      seed,
      fromStep: first,
      toStep: first + plan.stepsPerEpoch,
    });
    try {
      for (let step = first; step < first + plan.stepsPerEpoch; step++) await trainer.trainStep(await batches.next(), step);
    } finally {
      await batches.close();
    }
  }
  const seconds = (performance.now() - started) / 1000;
  trainer.dispose();
  await closeDecodePool();
  return seconds;
}

async function throughWorkflow(): Promise<{ seconds: number; activities: number; checkpointSeconds: number[] }> {
  const stack = await startStack({ temporal: true });
  const home = mkdtempSync(join(tmpdir(), 'patchwork-bench-tracker-'));
  const tracker = await startTracker(home);
  stack.settings.tracker = { url: tracker.url, token: tracker.token };
  try {
    await stack.startWorker();
    const client = await connectClient(stack.settings);
    const started = performance.now();
    const handle = await client.workflow.start(pretrainWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: 'bench-overhead',
      args: [{ method: 'iic', images: folder, config, epochs, seed, embed: false, ...chunking }],
    });
    const result = await handle.result();
    const seconds = (performance.now() - started) / 1000;
    if (result.steps !== totalSteps) throw new Error(`bench: the workflow trained ${result.steps} steps, not ${totalSteps}`);
    const history = await client.workflow.getHandle('bench-overhead').fetchHistory();
    const activities = (history.events ?? []).filter((event) => event.activityTaskScheduledEventAttributes).length;
    const runDir = join(tracker.logDir, 'bench-overhead');
    const checkpointSeconds: number[] = [];
    for (const file of readdirSync(runDir).filter((f) => f.startsWith('events.out.tfevents')).sort()) {
      const series = scalarSeries((await readEventFile(join(runDir, file))).events);
      for (const point of series.get('perf/checkpoint_seconds') ?? []) checkpointSeconds.push(point.value);
    }
    return { seconds, activities, checkpointSeconds };
  } finally {
    await tracker.stop();
    await stack.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

const bare = await bareLoop();
const orchestrated = await throughWorkflow();
const overhead = orchestrated.seconds - bare;
const checkpointTotal = orchestrated.checkpointSeconds.reduce((a, b) => a + b, 0);
const perCheckpoint = checkpointTotal / Math.max(1, orchestrated.checkpointSeconds.length);
const rest = overhead - checkpointTotal;
console.log(`bare loop           ${bare.toFixed(1)} s (${(totalSteps / bare).toFixed(1)} steps/s)`);
console.log(`pretrainWorkflow    ${orchestrated.seconds.toFixed(1)} s (${orchestrated.activities} activities, ${orchestrated.checkpointSeconds.length} checkpoints in training)`);
console.log(`overhead            ${overhead.toFixed(1)} s = ${((100 * overhead) / bare).toFixed(1)} % of the bare loop (goal <= 5 %)`);
console.log(`  per checkpoint    ${perCheckpoint.toFixed(2)} s (perf/checkpoint_seconds, ${checkpointTotal.toFixed(1)} s in all)`);
console.log(`  per activity      ${(rest / Math.max(1, orchestrated.activities)).toFixed(2)} s (the rest: scheduling, session start, logging, export)`);
console.log(`ratio               ${(orchestrated.seconds / bare).toFixed(3)}x the bare loop`);
