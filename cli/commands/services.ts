import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings, readServicesFile, servicesFilePath, settingsToEnv, type ServicesFile } from '../../config/settings.ts';
import { startTemporalServer, temporalIsServing } from '../services/temporal.ts';
import { startS3Server } from '../services/minio.ts';
import { assertPortFree, httpOk, startProcess, waitUntilReady, type ManagedProcess } from '../services/process.ts';
import { repoRoot } from '../services/binaries.ts';
import { S3Storage } from '../../storage/index.ts';
import { ensureWorkflowBundle } from '../../worker/bundle.ts';
import { TASK_QUEUES } from '../../contracts/task-queues.ts';

interface UpOptions {
  temporalPort: number;
  temporalUiPort: number;
  s3Port: number;
  s3ConsolePort: number;
  trackerPort: number;
  tensorboardPort: number;
  s3: boolean;
  tensorboard: boolean;
}

const DEFAULT_BUCKET = 'patchwork';

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function say(message: string): void {
  console.error(message);
}

export async function upCommand(options: UpOptions): Promise<void> {
  const env = process.env;
  const home = loadSettings().home;
  const previous = readServicesFile(home);
  if (previous && [previous.temporal.pid, previous.tracker.pid, ...previous.workers.map((w) => w.pid)].some(alive)) {
    say(`patchwork is already up (recorded in ${servicesFilePath(home)}); run \`patchwork status\` or \`patchwork down\` first.`);
    await statusCommand();
    return;
  }
  const logDir = join(home, 'logs');
  const started: ManagedProcess[] = [];
  const record: ServicesFile = {
    startedAt: new Date().toISOString(),
    temporal: { address: env.TEMPORAL_ADDRESS ?? '', namespace: env.TEMPORAL_NAMESPACE ?? 'default' },
    tracker: { url: env.PATCHWORK_TRACKER_URL ?? '' },
    workers: [],
    token: env.PATCHWORK_TOKEN ?? randomBytes(24).toString('base64url'),
    store: env.PATCHWORK_STORE ?? (env.S3_BUCKET ? `s3://${env.S3_BUCKET}` : join(home, 'store')),
  };
  try {
    if (env.TEMPORAL_ADDRESS) {
      say(`temporal: using ${env.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS is set)`);
      if (!(await temporalIsServing(env.TEMPORAL_ADDRESS).catch(() => false))) {
        throw new Error(`TEMPORAL_ADDRESS=${env.TEMPORAL_ADDRESS} does not answer; check the address or unset it to start a dev server`);
      }
    } else {
      await assertPortFree('Temporal', options.temporalPort, '--temporal-port');
      await assertPortFree('the Temporal UI', options.temporalUiPort, '--temporal-ui-port');
      say(`temporal: starting the dev server on 127.0.0.1:${options.temporalPort} (state in ${join(home, 'temporal.db')})`);
      const temporal = await startTemporalServer({
        port: options.temporalPort,
        uiPort: options.temporalUiPort,
        dbFile: join(home, 'temporal.db'),
        logDir,
        namespace: record.temporal.namespace,
        detached: true,
      });
      started.push(temporal.process);
      record.temporal = { ...record.temporal, address: temporal.address, uiUrl: temporal.uiUrl, pid: temporal.process.pid };
    }

    if (env.S3_ENDPOINT) {
      say(`s3: using ${env.S3_ENDPOINT} (S3_ENDPOINT is set)`);
    } else if (options.s3) {
      await assertPortFree('S3', options.s3Port, '--s3-port');
      await assertPortFree('the S3 console', options.s3ConsolePort, '--s3-console-port');
      const credentials = { accessKey: 'patchwork', secretKey: randomBytes(18).toString('base64url') };
      say(`s3: starting MinIO on 127.0.0.1:${options.s3Port} (data in ${join(home, 's3')})`);
      const s3 = await startS3Server({
        port: options.s3Port,
        consolePort: options.s3ConsolePort,
        dataDir: join(home, 's3'),
        logDir,
        detached: true,
        ...credentials,
      });
      started.push(s3.process);
      record.s3 = { endpoint: s3.endpoint, consoleUrl: s3.consoleUrl, pid: s3.process.pid, ...credentials };
      await new S3Storage({ endpoint: s3.endpoint, ...credentials }, DEFAULT_BUCKET).ensureBucket();
    }

    // Children see the same settings as later CLI calls will: write the record first, then load from it.
    writeRecord(home, record);
    const childEnv = { ...process.env, ...settingsToEnv(loadSettings()) };

    if (env.PATCHWORK_TRACKER_URL) {
      say(`tracker: using ${env.PATCHWORK_TRACKER_URL} (PATCHWORK_TRACKER_URL is set)`);
    } else {
      await assertPortFree('the tracker', options.trackerPort, '--tracker-port');
      const url = `http://127.0.0.1:${options.trackerPort}`;
      const tracker = startProcess({
        name: 'tracker',
        command: process.execPath,
        args: ['--import', 'tsx', join(repoRoot, 'tracker', 'main.ts'), '--port', String(options.trackerPort)],
        env: { ...childEnv, PATCHWORK_TRACKER_URL: url },
        cwd: repoRoot,
        logFile: join(logDir, 'tracker.log'),
        detached: true,
      });
      started.push(tracker);
      await waitUntilReady(tracker, () => httpOk(`${url}/health`), 30_000);
      record.tracker = { url, pid: tracker.pid };
      writeRecord(home, record);
    }

    if (options.tensorboard) {
      await assertPortFree('TensorBoard', options.tensorboardPort, '--tensorboard-port');
      const logs = join(home, 'tensorboard');
      mkdirSync(logs, { recursive: true });
      const url = `http://127.0.0.1:${options.tensorboardPort}`;
      const tensorboard = startProcess({
        name: 'tensorboard',
        command: join(repoRoot, '.tools', 'venv', 'bin', 'tensorboard'),
        args: ['--logdir', logs, '--host', '127.0.0.1', '--port', String(options.tensorboardPort), '--reload_interval', '5'],
        cwd: repoRoot,
        logFile: join(logDir, 'tensorboard.log'),
        detached: true,
      });
      started.push(tensorboard);
      await waitUntilReady(tensorboard, () => httpOk(`${url}/data/environment`), 60_000);
      record.tensorboard = { url, pid: tensorboard.pid };
      writeRecord(home, record);
    }

    say('workers: building the workflow bundle once');
    await ensureWorkflowBundle(home);
    const workerEnv = { ...process.env, ...settingsToEnv(loadSettings()) };
    for (const queue of Object.values(TASK_QUEUES)) {
      const logFile = join(logDir, `worker-${queue}.log`);
      const worker = startProcess({
        name: `worker ${queue}`,
        command: process.execPath,
        args: ['--import', 'tsx', join(repoRoot, 'worker', 'main.ts'), '--queue', queue],
        env: workerEnv,
        cwd: repoRoot,
        logFile,
        detached: true,
      });
      started.push(worker);
      const offset = safeSize(logFile);
      await waitUntilReady(worker, async () => readFileSync(logFile, 'utf8').slice(offset).includes('polling'), 60_000);
      record.workers.push({ queue, pid: worker.pid });
    }
    writeRecord(home, record);
  } catch (error) {
    say('startup failed; stopping what was started');
    await Promise.all(started.reverse().map((p) => p.stop('SIGTERM', 5_000)));
    rmSync(servicesFilePath(home), { force: true });
    throw error;
  }

  console.log('patchwork is up');
  console.log(`  temporal   ${record.temporal.address}${record.temporal.uiUrl ? `  (UI ${record.temporal.uiUrl})` : ''}`);
  if (record.s3) console.log(`  s3         ${record.s3.endpoint}  bucket s3://${DEFAULT_BUCKET}  (console ${record.s3.consoleUrl})`);
  // Reads need the token: the link starts a browser session on the run pages and the labeler.
  console.log(`  tracker    ${record.tracker.url}  (runs ${record.tracker.url}/runs?token=${encodeURIComponent(record.token)})`);
  if (record.tensorboard) console.log(`  tensorboard ${record.tensorboard.url}`);
  console.log(`  workers    ${record.workers.map((w) => `${w.queue} (pid ${w.pid})`).join(', ')}`);
  console.log(`  store      ${record.store}`);
  console.log(`  logs       ${logDir}`);
}

function safeSize(file: string): number {
  try {
    return readFileSync(file, 'utf8').length;
  } catch {
    return 0;
  }
}

function writeRecord(home: string, record: ServicesFile): void {
  const path = servicesFilePath(home);
  writeFileSync(path, JSON.stringify(record, null, 2), { mode: 0o600 });
  chmodSync(path, 0o600);
}

async function waitForExit(pid: number, graceMs: number): Promise<boolean> {
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !alive(pid);
}

export async function downCommand(): Promise<void> {
  const home = loadSettings().home;
  const record = readServicesFile(home);
  if (!record) {
    say(`nothing to stop: no ${servicesFilePath(home)}`);
    return;
  }
  const order: [string, number | undefined][] = [
    ...record.workers.map((w) => [`worker ${w.queue}`, w.pid] as [string, number]),
    ['tracker', record.tracker.pid],
    ['tensorboard', record.tensorboard?.pid],
    ['s3', record.s3?.pid],
    ['temporal', record.temporal.pid],
  ];
  for (const [name, pid] of order) {
    if (!pid || !alive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    if (!(await waitForExit(pid, 15_000))) {
      say(`${name} (pid ${pid}) did not stop within 15 s; killing it`);
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 5_000);
    }
    console.log(`stopped ${name} (pid ${pid})`);
  }
  rmSync(servicesFilePath(home), { force: true });
}

export async function statusCommand(): Promise<void> {
  const settings = loadSettings();
  const record = readServicesFile(settings.home);
  const rows: [string, boolean, string][] = [];
  const check = async (probe: () => Promise<boolean>) => probe().catch(() => false);
  rows.push([
    'temporal',
    await check(() => temporalIsServing(settings.temporal.address)),
    `${settings.temporal.address}${record?.temporal.pid ? ` pid ${record.temporal.pid}` : ''}`,
  ]);
  if (settings.s3) {
    rows.push(['s3', await check(() => httpOk(`${settings.s3!.endpoint}/minio/health/live`)), settings.s3.endpoint]);
  }
  rows.push(['tracker', await check(() => httpOk(`${settings.tracker.url}/health`)), settings.tracker.url]);
  if (record?.tensorboard) {
    rows.push(['tensorboard', await check(() => httpOk(`${record.tensorboard!.url}/data/environment`)), record.tensorboard.url]);
  }
  for (const worker of record?.workers ?? []) rows.push([`worker ${worker.queue}`, alive(worker.pid), `pid ${worker.pid}`]);
  for (const [name, ok, where] of rows) console.log(`${ok ? 'up  ' : 'DOWN'}  ${name.padEnd(22)} ${where}`);
  if (rows.some(([, ok]) => !ok)) process.exitCode = 1;
}
