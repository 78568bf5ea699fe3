// `npm run chaos -- --minutes N [--seed S] [--keep]`: starts the stack with `patchwork up` in a temporary
// PATCHWORK_HOME (store in MinIO), runs small pretraining runs one after another and a labeling loop fed by a
// simulated labeler, and for N minutes SIGKILLs a worker, the tracker, MinIO or the Temporal dev server at seeded
// random times (the supervisor restarts them). Then it checks that nothing acknowledged was lost and exits non-zero
// when something was.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSettings } from '../config/settings.ts';
import { freePort } from '../cli/services/process.ts';
import { runCli } from '../tests/helpers/cli.ts';
import { writeFiles } from '../tests/helpers/images.ts';
import { patternImages } from '../tests/helpers/pretrain.ts';
import { saveTinyFeatureModel } from '../tests/helpers/feature-model.ts';
import { Random } from './chaos/random.ts';
import { faultKinds, injectFault, restartCounts, waitForStackUp, type Fault, type FaultKind } from './chaos/faults.ts';
import { checkLabels, runLabeler } from './chaos/labeler.ts';
import { checkCheckpoints, checkScalars, RunFollower } from './chaos/runs.ts';

function options() {
  const { values } = parseArgs({
    options: { minutes: { type: 'string' }, seed: { type: 'string', default: '1' }, keep: { type: 'boolean', default: false } },
  });
  const minutes = Number(values.minutes);
  if (!values.minutes || !Number.isFinite(minutes) || minutes <= 0) {
    throw new Error(`--minutes ${values.minutes ?? '(missing)'}: give how long to inject faults, e.g. npm run chaos -- --minutes 3`);
  }
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed ${values.seed}: give an integer, e.g. --seed 7`);
  return { minutes, seed, keep: values.keep! };
}

const SMALL_DEEPCLUSTER = { input: { imshape: [32, 32], batch_size: 8 }, k: 4, pca_dim: 8, dense: [32], lr: 0.01, lr_decay: 0 };
const EPOCHS = 5;
const PROJECT = 'chaos';
const CLASSES = ['stripes', 'round'];
const log = (line: string) => console.error(`${new Date().toISOString()} ${line}`);

async function main(): Promise<number> {
  const { minutes, seed, keep } = options();
  const root = await mkdtemp(join(tmpdir(), 'patchwork-chaos-'));
  const home = join(root, '.patchwork');
  const env: NodeJS.ProcessEnv = { ...process.env, PATCHWORK_HOME: home, S3_BUCKET: 'patchwork' };
  for (const key of ['TEMPORAL_ADDRESS', 'S3_ENDPOINT', 'PATCHWORK_TRACKER_URL', 'PATCHWORK_STORE', 'PATCHWORK_TOKEN']) delete env[key];
  const patchwork = (...args: string[]) => runCli(args, { env, cwd: root });
  const ports: string[] = [];
  for (const flag of ['--temporal-port', '--temporal-ui-port', '--s3-port', '--s3-console-port', '--tracker-port', '--tensorboard-port']) {
    ports.push(flag, String(await freePort()));
  }
  let failed = true;
  try {
    log(`patchwork up in ${home}`);
    const up = await patchwork('up', ...ports);
    if (up.code !== 0) throw new Error(`patchwork up failed:\n${up.err}`);
    const settings = loadSettings(env);
    const images = join(root, 'images');
    const files = await patternImages(96, 32);
    await writeFiles(images, files);
    const model = await saveTinyFeatureModel(join(root, 'model'));
    const label = await patchwork('label', PROJECT, '--images', images, '--model', model, '--classes', CLASSES.join(','), '--every', '20');
    if (label.code !== 0) throw new Error(`patchwork label failed:\n${label.err}`);

    const random = new Random(seed);
    const chaosEnds = Date.now() + minutes * 60_000;
    const over = () => Date.now() >= chaosEnds;
    const follower = new RunFollower(settings);
    const runs: { id: string; status?: string; steps?: number }[] = [];
    const faults: Fault[] = [];
    let unrecovered = 0;
    const kinds: FaultKind[] = [];

    const pretraining = (async () => {
      while (!over()) {
        const id = `chaos-pretrain-${runs.length + 1}`;
        const run: (typeof runs)[number] = { id };
        runs.push(run);
        log(`starting ${id}`);
        await follower.start(id, { method: 'deepcluster', images, epochs: EPOCHS, stepsPerActivity: 4, checkpointEvery: 2, heartbeatTimeoutMs: 10_000, config: SMALL_DEEPCLUSTER, embed: false, seed });
        Object.assign(run, await follower.waitForEnd(id, minutes * 60_000 + 900_000));
        log(`${id}: ${run.status}${run.steps ? ` after ${run.steps} steps` : ''}`);
      }
    })();
    const labeling = runLabeler(
      { trackerUrl: settings.tracker.url, token: settings.tracker.token!, project: PROJECT, keys: files.map((f) => f.key), classes: CLASSES },
      new Random(seed + 1),
      over,
      300,
    );
    const injecting = (async () => {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, random.between(10_000, 30_000)));
        if (over()) return;
        if (!(await waitForStackUp(home, 300_000))) {
          unrecovered += 1;
          log('the stack did not come back up within 5 minutes; no more faults');
          return;
        }
        // Kinds in shuffled rounds: every kind is hit once before any is hit again.
        if (kinds.length === 0) kinds.push(...random.shuffle(faultKinds));
        const fault = injectFault(home, kinds.pop()!, faults.filter((f) => f.kind === 'worker').length);
        if (fault) {
          faults.push(fault);
          log(`fault ${faults.length}: SIGKILL ${fault.service} (pid ${fault.pid})`);
        }
      }
    })();
    const [labels] = await Promise.all([labeling, injecting, pretraining]);
    log('faults over; waiting for the stack and the last run');
    if (!(await waitForStackUp(home, 300_000))) unrecovered += 1;

    const lost: string[] = [];
    const incompleteCheckpoints: string[] = [];
    let checkpointsLoaded = 0;
    for (const run of runs) {
      if (run.status !== 'COMPLETED' || !run.steps) {
        lost.push(`${run.id} did not finish: ${run.status}`);
        continue;
      }
      lost.push(...(await checkScalars(home, run.id, 'train/loss', run.steps)));
      const checkpoints = await checkCheckpoints(settings, run.id, run.steps);
      lost.push(...checkpoints.lost);
      incompleteCheckpoints.push(...checkpoints.incomplete);
      checkpointsLoaded += checkpoints.loaded;
    }
    const target = { trackerUrl: settings.tracker.url, token: settings.tracker.token!, project: PROJECT, keys: [], classes: CLASSES };
    lost.push(...(await checkLabels(target, labels.acked)));
    await follower.close();
    const labelStatus = await patchwork('label', PROJECT, '--status');
    const labelRounds = Number(labelStatus.out.match(/(\d+) rounds? done/)?.[1] ?? 0);

    const perKind = Object.fromEntries(faultKinds.map((kind) => [kind, faults.filter((f) => f.kind === kind).length])) as Record<FaultKind, number>;
    const summary = {
      minutes,
      seed,
      faults: { total: faults.length, ...perKind },
      restarts: restartCounts(home),
      runsStarted: runs.length,
      runsFinished: runs.filter((r) => r.status === 'COMPLETED').length,
      stepsChecked: runs.reduce((sum, r) => sum + (r.steps ?? 0), 0),
      checkpointsLoaded,
      incompleteCheckpointFolders: incompleteCheckpoints.length,
      labelRounds,
      labelWritesAcknowledged: labels.acked.length,
      labelWriteAttemptsRefused: labels.failedAttempts,
      stackNotRecovered: unrecovered,
      valuesLost: lost.length,
    };
    console.log(JSON.stringify(summary, null, 2));
    for (const line of [...lost, ...incompleteCheckpoints]) console.log(`  ${line}`);
    failed = lost.length > 0 || unrecovered > 0 || summary.runsFinished === 0;
    return failed ? 1 : 0;
  } finally {
    const down = await patchwork('down');
    if (down.code !== 0) log(`patchwork down failed:\n${down.err}`);
    if (keep || failed) log(`kept ${root} (logs in ${join(home, 'logs')})`);
    else await rm(root, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`chaos: ${error.message}`);
    process.exit(1);
  },
);
