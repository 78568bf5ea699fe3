import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings, readServicesFile, servicesFilePath, settingsToEnv, type ServicesFile } from '../../config/settings.ts';
import { temporalIsServing } from '../services/temporal.ts';
import { assertPortFree, httpOk } from '../services/process.ts';
import { S3Storage } from '../../storage/index.ts';
import { ensureWorkflowBundle } from '../../worker/bundle.ts';
import { writeFileAtomically } from '../services/atomic-file.ts';
import { stackPlan } from '../services/stack-plan.ts';
import { planFilePath, readPlan, writePlan, type ServiceSpec, type SupervisorPlan } from '../services/spec.ts';
import { launchSupervisor, runningSupervisor, stopSupervisor, waitForStack } from '../services/supervisor-launch.ts';
import {
  processAlive,
  processRuns,
  readSupervisorState,
  recordedPid,
  recordedSupervisor,
  supervisorLogPath,
  supervisorStatePath,
} from '../services/supervisor-state.ts';

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

function say(message: string): void {
  console.error(message);
}

export async function upCommand(options: UpOptions): Promise<void> {
  const home = loadSettings().home;
  const previous = readServicesFile(home);
  const plan = readPlan(home);
  if (previous && plan) return completeStack(home, plan);
  if (previous) {
    const pids = [previous.temporal.pid, previous.s3?.pid, previous.tracker.pid, previous.tensorboard?.pid, ...previous.workers.map((w) => w.pid)];
    if (pids.some(processAlive)) {
      say(`patchwork is already up without a supervisor (recorded in ${servicesFilePath(home)}); run \`patchwork down\`, then \`patchwork up\`.`);
      await statusCommand();
      return;
    }
  }
  return startStack(home, options);
}

/** Every service is started by the supervisor; this checks ports first so a taken one is reported before anything runs. */
async function startStack(home: string, options: UpOptions): Promise<void> {
  const env = process.env;
  const logDir = join(home, 'logs');
  const record: ServicesFile = {
    startedAt: new Date().toISOString(),
    temporal: { address: env.TEMPORAL_ADDRESS ?? '', namespace: env.TEMPORAL_NAMESPACE ?? 'default' },
    tracker: { url: env.PATCHWORK_TRACKER_URL ?? `http://127.0.0.1:${options.trackerPort}` },
    workers: [],
    token: env.PATCHWORK_TOKEN ?? randomBytes(24).toString('base64url'),
    store: env.PATCHWORK_STORE ?? (env.S3_BUCKET ? `s3://${env.S3_BUCKET}` : join(home, 'store')),
  };
  const startTemporal = !env.TEMPORAL_ADDRESS;
  const startS3 = !env.S3_ENDPOINT && options.s3;
  const startTracker = !env.PATCHWORK_TRACKER_URL;
  if (env.TEMPORAL_ADDRESS) {
    say(`temporal: using ${env.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS is set)`);
    if (!(await temporalIsServing(env.TEMPORAL_ADDRESS).catch(() => false))) {
      throw new Error(`TEMPORAL_ADDRESS=${env.TEMPORAL_ADDRESS} does not answer; check the address or unset it to start a dev server`);
    }
  } else {
    await assertPortFree('Temporal', options.temporalPort, '--temporal-port');
    await assertPortFree('the Temporal UI', options.temporalUiPort, '--temporal-ui-port');
    record.temporal = { ...record.temporal, address: `127.0.0.1:${options.temporalPort}`, uiUrl: `http://127.0.0.1:${options.temporalUiPort}` };
  }
  const s3Credentials = { accessKey: 'patchwork', secretKey: randomBytes(18).toString('base64url') };
  if (env.S3_ENDPOINT) say(`s3: using ${env.S3_ENDPOINT} (S3_ENDPOINT is set)`);
  else if (startS3) {
    await assertPortFree('S3', options.s3Port, '--s3-port');
    await assertPortFree('the S3 console', options.s3ConsolePort, '--s3-console-port');
    record.s3 = { endpoint: `http://127.0.0.1:${options.s3Port}`, consoleUrl: `http://127.0.0.1:${options.s3ConsolePort}`, ...s3Credentials };
  }
  if (env.PATCHWORK_TRACKER_URL) say(`tracker: using ${env.PATCHWORK_TRACKER_URL} (PATCHWORK_TRACKER_URL is set)`);
  else await assertPortFree('the tracker', options.trackerPort, '--tracker-port');
  if (options.tensorboard) await assertPortFree('TensorBoard', options.tensorboardPort, '--tensorboard-port');

  // Children see the same settings as later CLI calls will: write the record first, then load from it.
  writeRecord(home, record);
  let supervisorPid: number | undefined;
  try {
    const childEnv = { ...(process.env as Record<string, string>), ...settingsToEnv(loadSettings()) };
    const services = stackPlan({
      home,
      logDir,
      temporal: startTemporal ? { port: options.temporalPort, uiPort: options.temporalUiPort, namespace: record.temporal.namespace } : undefined,
      s3: startS3 ? { port: options.s3Port, consolePort: options.s3ConsolePort, ...s3Credentials } : undefined,
      tracker: startTracker ? { port: options.trackerPort } : undefined,
      tensorboard: options.tensorboard ? { port: options.tensorboardPort } : undefined,
      childEnv,
    });
    writePlan(home, { services });
    say('workers: building the workflow bundle once');
    await ensureWorkflowBundle(home);
    if (startTemporal) say(`temporal: starting the dev server on ${record.temporal.address} (state in ${join(home, 'temporal.db')})`);
    if (startS3) say(`s3: starting MinIO on ${record.s3!.endpoint} (data in ${join(home, 's3')})`);
    supervisorPid = launchSupervisor(home);
    say(`supervisor: started (pid ${supervisorPid}); it restarts a service that exits, logging to ${supervisorLogPath(home)}`);
    await waitForStack(home, supervisorPid, services, (name) => say(`${name}: up`));
    if (record.s3) await new S3Storage({ endpoint: record.s3.endpoint, ...s3Credentials }, DEFAULT_BUCKET).ensureBucket();
  } catch (error) {
    say('startup failed; stopping what was started');
    await stopEverything(home);
    throw error;
  }
  printSummary(home, logDir);
}

/** A stack recorded earlier: keep what still runs, start only what is missing (and the supervisor). */
async function completeStack(home: string, plan: SupervisorPlan): Promise<void> {
  const missing = plan.services.filter((spec) => !processRuns(recordedPid(home, spec.slot), spec.command, spec.args));
  const supervisor = runningSupervisor(home);
  const state = readSupervisorState(home);
  const stuck = plan.services.filter((spec) => ['failed', 'gave-up'].includes(state?.services[spec.name]?.state ?? ''));
  if (supervisor && missing.length === 0 && stuck.length === 0) {
    say(`patchwork is already up (recorded in ${servicesFilePath(home)}); nothing to start.`);
    await statusCommand();
    return;
  }
  let pid = supervisor;
  if (supervisor && stuck.length === 0) {
    say(`the supervisor (pid ${supervisor}) is restarting ${missing.map((s) => s.name).join(', ')}; waiting for it`);
  } else {
    if (supervisor) await stopSupervisor(home);
    const names = [...missing.map((s) => s.name), ...(supervisor ? [] : ['the supervisor'])];
    say(`patchwork is partly up; starting only what is missing: ${names.join(', ')}`);
    pid = launchSupervisor(home);
  }
  await waitForStack(home, pid!, plan.services, (name) => missing.some((s) => s.name === name) && say(`${name}: up`));
  printSummary(home, join(home, 'logs'));
}

function printSummary(home: string, logDir: string): void {
  const record = readServicesFile(home)!;
  console.log('patchwork is up');
  console.log(`  temporal   ${record.temporal.address}${record.temporal.uiUrl ? `  (UI ${record.temporal.uiUrl})` : ''}`);
  if (record.s3) console.log(`  s3         ${record.s3.endpoint}  bucket s3://${DEFAULT_BUCKET}  (console ${record.s3.consoleUrl})`);
  // Reads need the token: the link starts a browser session on the run pages and the labeler.
  console.log(`  tracker    ${record.tracker.url}  (runs ${record.tracker.url}/runs?token=${encodeURIComponent(record.token)})`);
  if (record.tensorboard) console.log(`  tensorboard ${record.tensorboard.url}`);
  console.log(`  workers    ${record.workers.map((w) => `${w.queue} (pid ${w.pid})`).join(', ')}`);
  console.log(`  store      ${record.store}`);
  console.log(`  logs       ${logDir}`);
  const supervisor = recordedSupervisor(home);
  if (supervisor) console.log(`  supervisor pid ${supervisor.pid}, restarts logged in ${supervisor.log}`);
}

function writeRecord(home: string, record: ServicesFile): void {
  writeFileAtomically(servicesFilePath(home), JSON.stringify(record, null, 2));
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until the process has exited, then (briefly) until whoever adopted it has reaped it, so that once down
 * returns no pid it stopped is left even as a zombie.
 */
async function waitForProcessExit(pid: number, graceMs: number): Promise<boolean> {
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && processAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 100));
  if (processAlive(pid)) return false;
  const reapDeadline = Date.now() + 5_000;
  while (Date.now() < reapDeadline && pidExists(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
  return true;
}

/** The supervisor first, so it restarts nothing; then the services from the last started to the first. */
async function stopEverything(home: string, report: (line: string) => void = () => {}): Promise<void> {
  const supervisorPid = await stopSupervisor(home);
  if (supervisorPid) report(`stopped supervisor (pid ${supervisorPid})`);
  const record = readServicesFile(home);
  const plan = readPlan(home);
  const specs: ServiceSpec[] = plan?.services ?? [];
  const order: [string, number | undefined][] = record
    ? [
        ...record.workers.map((w) => [`worker ${w.queue}`, w.pid] as [string, number]),
        ['tracker', record.tracker.pid],
        ['tensorboard', record.tensorboard?.pid],
        ['s3', record.s3?.pid],
        ['temporal', record.temporal.pid],
      ]
    : [];
  for (const [name, pid] of order) {
    const spec = specs.find((s) => s.name === name);
    // A pid the plan knows is only stopped while it still runs that service, never a process that reused the pid.
    if (!pid || !(spec ? processRuns(pid, spec.command, spec.args) : processAlive(pid))) continue;
    process.kill(pid, 'SIGTERM');
    if (!(await waitForProcessExit(pid, 15_000))) {
      say(`${name} (pid ${pid}) did not stop within 15 s; killing it`);
      process.kill(pid, 'SIGKILL');
      await waitForProcessExit(pid, 5_000);
    }
    report(`stopped ${name} (pid ${pid})`);
  }
  for (const file of [servicesFilePath(home), supervisorStatePath(home), planFilePath(home)]) rmSync(file, { force: true });
}

export async function downCommand(): Promise<void> {
  const home = loadSettings().home;
  if (!readServicesFile(home)) {
    say(`nothing to stop: no ${servicesFilePath(home)}`);
    return;
  }
  await stopEverything(home, (line) => console.log(line));
}

function supervisionNote(home: string, name: string): string {
  const status = readSupervisorState(home)?.services[name];
  if (!status) return '';
  const restarts = `  restarts=${status.restarts}`;
  switch (status.state) {
    case 'backoff':
      return `${restarts}  (restarting after ${status.lastExit}; next attempt ${status.nextAttemptAt})`;
    case 'starting':
      return `${restarts}  (starting)`;
    case 'gave-up':
    case 'failed':
      return `${restarts}  (${status.error?.split('\n')[0]})`;
    default:
      return restarts;
  }
}

export async function statusCommand(): Promise<void> {
  const settings = loadSettings();
  const home = settings.home;
  const record = readServicesFile(home);
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
  const supervised = readSupervisorState(home);
  for (const worker of record?.workers ?? []) {
    const name = `worker ${worker.queue}`;
    // A worker's process exists before it polls: it counts as up once the supervisor has seen it ready.
    const ready = (supervised?.services[name]?.state ?? 'up') === 'up';
    rows.push([name, processAlive(worker.pid) && ready, `pid ${worker.pid}`]);
  }
  for (const [name, ok, where] of rows) console.log(`${ok ? 'up  ' : 'DOWN'}  ${name.padEnd(22)} ${where}${supervisionNote(home, name)}`);
  let healthy = rows.every(([, ok]) => ok);
  const supervisor = recordedSupervisor(home);
  if (supervisor && runningSupervisor(home)) {
    console.log(`supervised by pid ${supervisor.pid}; restarts are logged in ${supervisor.log}`);
  } else if (record) {
    console.log(`DOWN  ${'supervisor'.padEnd(22)} nothing restarts a service that exits; run \`patchwork up\` to start it again`);
    healthy = false;
  }
  if (!healthy) process.exitCode = 1;
}
