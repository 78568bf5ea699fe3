// npm run bench:overhead: what orchestration costs. The same IIC training steps, from the same seed, run twice:
//   - through pretrainWorkflow on a Temporal dev server, a worker process and a tracker (activities, checkpoints,
//     heartbeats, logging to the tracker, the model export at the end), with the workflow's default chunking;
//   - as a bare loop in this process: createTrainer, the same input pipeline, trainStep, and at the end the same
//     export of the trained networks to a local folder (what any training script does with its result).
// Neither side evaluates anything (no labels, no test images). Both load the tfjs backend before their clock starts
// (the worker loads it when it starts). Prints both wall times, the overhead in percent, and where the workflow's
// extra time went: each activity type's time on the worker and in the queue (from the workflow's history), the
// checkpoints' wait on the training path and their store time in the background, and the session's start.
// Images are 64x64 by default: at 32x32 IIC's network has an empty feature map and every loss is NaN (the bench warns
// when the bare loop's losses are not finite). Run it alone on the machine.
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
import { exportLayersModel } from '../../ml/model-artifacts.ts';
import { LocalStorage } from '../../storage/index.ts';
import { readEventFile, scalarSeries } from '../../tensorboard-format/index.ts';
import { startStack } from '../../tests/helpers/stack.ts';
import { startTracker } from '../../tests/helpers/tracker.ts';
import { pretrainWorkflow } from '../../workflows/index.ts';
import { FASHION_MNIST_TRAIN, fashionMnistPngs } from './lib/bench-images.ts';
import { describePhases, historyPhases, type HistoryPhases } from './lib/history-phases.ts';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '512' },
    // bnAlexNetFcn's feature map is empty below 64x64 (32x32 ends 1x1 before its last 3x3 pool): IIC's loss is NaN there.
    size: { type: 'string', default: '64' },
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

// A folder per count: the workflow trains on every image its folder holds.
const files = await fashionMnistPngs(join(tmpdir(), `patchwork-bench-overhead-${count}`), count, FASHION_MNIST_TRAIN);
const folder = dirname(files[0]!);
const keys = files.map((f) => basename(f)).sort();
const run = validatePretrainRequest({ method: 'iic', config, epochs });
const plan = epochPlan({ method: 'iic', files: keys.length, batchSize: run.input.batch_size, r: config.r });
const totalSteps = plan.stepsPerEpoch * epochs;
console.log(
  `IIC, ${keys.length} Fashion-MNIST PNGs -> ${size}x${size}, batch ${run.input.batch_size} (r ${config.r}), ${epochs} epoch(s) ` +
    `= ${totalSteps} steps; cores ${availableParallelism()}; load ${loadavg()[0]!.toFixed(1)}`,
);

/** Steps of the bare loop whose loss was NaN or infinite: timings of a diverged run would say little. */
let nonFiniteLosses = 0;
/** The bare loop's time in its training loops, from opening each epoch's batches to its last step. */
let bareLoopSeconds = 0;

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
    const loopStarted = performance.now();
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
      for (let step = first; step < first + plan.stepsPerEpoch; step++) {
        const { loss } = await trainer.trainStep(await batches.next(), step);
        if (!Number.isFinite(loss)) nonFiniteLosses++;
      }
      bareLoopSeconds += (performance.now() - loopStarted) / 1000;
    } finally {
      await batches.close();
    }
  }
  const exportDir = mkdtempSync(join(tmpdir(), 'patchwork-bench-export-'));
  const out = new LocalStorage(exportDir);
  for (const [name, model] of [...Object.entries(trainer.exportedModels()), ['model', trainer.featureExtractor()] as const]) {
    await exportLayersModel(out, { model: `${name}/model.json`, weights: `${name}/weights.bin` }, model, { step: totalSteps });
  }
  const seconds = (performance.now() - started) / 1000;
  trainer.dispose();
  await closeDecodePool();
  rmSync(exportDir, { recursive: true, force: true });
  return seconds;
}

/** Every value of the perf/ scalars `tags` in the run's event files, by tag. */
async function perfScalars(runDir: string, tags: string[]): Promise<Record<string, number[]>> {
  const values: Record<string, number[]> = Object.fromEntries(tags.map((tag) => [tag, []]));
  for (const file of readdirSync(runDir).filter((f) => f.startsWith('events.out.tfevents')).sort()) {
    const series = scalarSeries((await readEventFile(join(runDir, file))).events);
    for (const tag of tags) for (const point of series.get(tag) ?? []) values[tag]!.push(point.value);
  }
  return values;
}

interface Orchestrated {
  seconds: number;
  phases: HistoryPhases;
  perf: Record<string, number[]>;
}

async function throughWorkflow(): Promise<Orchestrated> {
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
    const perf = await perfScalars(join(tracker.logDir, 'bench-overhead'), [
      'perf/checkpoint_seconds',
      'perf/checkpoint_write_seconds',
      'perf/session_open_seconds',
      'perf/steps_per_second',
    ]);
    return { seconds, phases: historyPhases(history.events ?? []), perf };
  } finally {
    await tracker.stop();
    await stack.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

const bare = await bareLoop();
const orchestrated = await throughWorkflow();
const overhead = orchestrated.seconds - bare;
const waited = orchestrated.perf['perf/checkpoint_seconds']!;
const written = orchestrated.perf['perf/checkpoint_write_seconds']!;
const opened = orchestrated.perf['perf/session_open_seconds']!;
const activities = sum(orchestrated.phases.activities.map((a) => a.count));
console.log(`bare loop           ${bare.toFixed(1)} s (${(totalSteps / bare).toFixed(1)} steps/s, export included)`);
console.log(`pretrainWorkflow    ${orchestrated.seconds.toFixed(1)} s (${activities} activities, ${waited.length} checkpoints in training)`);
console.log(`overhead            ${overhead.toFixed(1)} s = ${((100 * overhead) / bare).toFixed(1)} % of the bare loop (goal <= 5 %)`);
console.log(`where the workflow's ${orchestrated.phases.total.toFixed(1)} s went (its history, from start to completion):`);
for (const line of describePhases(orchestrated.phases)) console.log(line);
console.log(`  checkpoints       ${sum(waited).toFixed(2)} s training waited (snapshots), ${sum(written).toFixed(2)} s storing in the background (${written.length})`);
console.log(`  session starts    ${sum(opened).toFixed(2)} s (${opened.length}: spec, file list, model, restore or first checkpoint)`);
const rates = orchestrated.perf['perf/steps_per_second']!;
console.log(`  training loop     ${(sum(rates) / Math.max(1, rates.length)).toFixed(1)} steps/s between checkpoints (mean over ${rates.length} activities; bare loop ${(totalSteps / bareLoopSeconds).toFixed(1)})`);
console.log(`ratio               ${(orchestrated.seconds / bare).toFixed(3)}x the bare loop`);
if (nonFiniteLosses > 0) console.log(`warning: ${nonFiniteLosses} of ${totalSteps} bare-loop steps had a non-finite loss`);
