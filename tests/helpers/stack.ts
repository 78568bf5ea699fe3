/**
 * Starts the real services a test needs (Temporal dev server, MinIO, worker processes) on free ports in a
 * temporary home, and stops them all afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTemporalServer, type TemporalServer } from '../../cli/services/temporal.ts';
import { startS3Server, type S3Server } from '../../cli/services/minio.ts';
import { freePort, startProcess, waitUntilReady, type ManagedProcess } from '../../cli/services/process.ts';
import { loadSettings, settingsToEnv, type Settings } from '../../config/settings.ts';
import { ensureWorkflowBundle } from '../../worker/bundle.ts';
import { repoRoot } from './paths.ts';

export interface StackOptions {
  temporal?: boolean;
  /** Persist Temporal's state in a file in the home (needed to restart the server mid-run). */
  persistTemporal?: boolean;
  s3?: boolean;
  /** Where runs write; defaults to a folder in the temp home. */
  store?: string;
}

export interface TestStack {
  home: string;
  settings: Settings;
  temporal?: TemporalServer;
  s3?: S3Server;
  /** `home` gives the worker a PATCHWORK_HOME of its own (a machine that shares no disk with the others). */
  startWorker(queue?: string, options?: { home?: string }): Promise<ManagedProcess>;
  restartTemporal(): Promise<void>;
  /** Stops MinIO and starts it again on the same port and data folder. */
  restartS3(): Promise<void>;
  stop(): Promise<void>;
}

export const S3_TEST_CREDENTIALS = { accessKey: 'patchwork-test', secretKey: 'patchwork-test-secret' };

export async function startStack(options: StackOptions = {}): Promise<TestStack> {
  const home = await mkdtemp(join(tmpdir(), 'patchwork-test-'));
  const logDir = join(home, 'logs');
  const processes: ManagedProcess[] = [];
  let temporal: TemporalServer | undefined;
  let s3: S3Server | undefined;
  const temporalPort = await freePort();
  const s3Port = await freePort();
  const startS3 = async () => {
    s3 = await startS3Server({ port: s3Port, dataDir: join(home, 's3'), logDir, ...S3_TEST_CREDENTIALS });
  };
  const startTemporal = async () => {
    temporal = await startTemporalServer({ port: temporalPort, dbFile: options.persistTemporal ? join(home, 'temporal.db') : undefined, logDir });
  };
  const stopAll = async () => {
    await Promise.all([...processes, temporal?.process, s3?.process].map((p) => p?.stop('SIGTERM', 5_000)));
  };
  try {
    const starting: Promise<unknown>[] = [];
    if (options.temporal) starting.push(startTemporal());
    if (options.s3) starting.push(startS3());
    await Promise.all(starting);
  } catch (error) {
    await stopAll();
    throw error;
  }
  const env: NodeJS.ProcessEnv = {
    PATCHWORK_HOME: home,
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    PATCHWORK_STORE: options.store ?? join(home, 'store'),
  };
  if (s3) Object.assign(env, { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: S3_TEST_CREDENTIALS.accessKey, S3_SECRET_KEY: S3_TEST_CREDENTIALS.secretKey });
  const settings = loadSettings(env);
  if (options.temporal) await ensureWorkflowBundle(home);

  return {
    home,
    settings,
    get temporal() {
      return temporal;
    },
    get s3() {
      return s3;
    },
    async startWorker(queue = 'all', workerOptions = {}) {
      const logFile = join(logDir, `worker-${processes.length}.log`);
      const worker = startProcess({
        name: `worker ${queue}`,
        command: process.execPath,
        args: ['--import', 'tsx', join(repoRoot, 'worker', 'main.ts'), '--queue', queue],
        cwd: repoRoot,
        env: { ...process.env, ...settingsToEnv(settings), ...(workerOptions.home ? { PATCHWORK_HOME: workerOptions.home } : {}) },
        logFile,
      });
      processes.push(worker);
      await waitUntilReady(worker, async () => readFileSync(logFile, 'utf8').includes('polling'), 60_000);
      return worker;
    },
    async restartTemporal() {
      await temporal?.process.stop('SIGTERM', 10_000);
      await startTemporal();
    },
    async restartS3() {
      await s3?.process.stop('SIGTERM', 10_000);
      await startS3();
    },
    async stop() {
      await stopAll();
      await rm(home, { recursive: true, force: true });
    },
  };
}
