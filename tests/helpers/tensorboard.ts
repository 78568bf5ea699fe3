// Starts a real `tensorboard` from .tools/venv on a free port for integration tests, and stops it.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './net.ts';
import { venvBin } from './paths.ts';

export interface TensorBoardOptions {
  /** true (default loader: Rust data server) or false (Python multiplexer). */
  loadFast: boolean;
  /** Default 'scalars=100000,images=100,histograms=1000' (never 0: the plugins then return nothing). */
  samplesPerPlugin?: string;
  startTimeoutMs?: number;
}

export interface LiveTensorBoard {
  url: string;
  getJson<T = unknown>(path: string): Promise<{ status: number; body: T }>;
  getBytes(path: string): Promise<{ status: number; body: Buffer }>;
  postJson<T = unknown>(path: string, payload: unknown): Promise<{ status: number; body: T }>;
  /** Recent stderr, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** Calls `check` until it returns a value other than undefined, or throws after `timeoutMs` with the last reason. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result !== undefined) return result;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startTensorBoard(
  logdir: string,
  options: TensorBoardOptions,
): Promise<LiveTensorBoard> {
  const port = await freePort();
  const child = spawn(
    join(venvBin, 'tensorboard'),
    [
      '--logdir',
      logdir,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      `--load_fast=${options.loadFast}`,
      '--reload_interval',
      '1',
      `--samples_per_plugin=${options.samplesPerPlugin ?? 'scalars=100000,images=100,histograms=1000'}`,
    ],
    { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' }, stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-8000)));
  const url = `http://127.0.0.1:${port}`;
  const request = async (path: string, init?: RequestInit) => {
    const response = await fetch(url + path, init);
    return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
  };
  const board: LiveTensorBoard = {
    url,
    async getJson<T>(path: string) {
      const r = await request(path);
      return {
        status: r.status,
        body: (r.status === 200 ? JSON.parse(r.bytes.toString('utf8')) : r.bytes.toString('utf8')) as T,
      };
    },
    async getBytes(path: string) {
      const r = await request(path);
      return { status: r.status, body: r.bytes };
    },
    async postJson<T>(path: string, payload: unknown) {
      const r = await request(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(payload),
      });
      return {
        status: r.status,
        body: (r.status === 200 ? JSON.parse(r.bytes.toString('utf8')) : r.bytes.toString('utf8')) as T,
      };
    },
    log: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = waitForExit(child);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  // Fails at once, not at the deadline, if tensorboard exits during start-up (bad flag, missing venv, ...).
  let onExit: (() => void) | undefined;
  const exitedEarly = new Promise<never>((_, reject) => {
    onExit = () =>
      reject(new Error(`tensorboard exited during start-up with ${child.exitCode ?? child.signalCode}`));
    child.once('exit', onExit);
  });
  exitedEarly.catch(() => undefined);
  try {
    await Promise.race([
      pollUntil(
        `tensorboard on port ${port} to answer`,
        async () => {
          const r = await request('/data/environment').catch(() => undefined);
          return r?.status === 200 ? true : undefined;
        },
        options.startTimeoutMs ?? 60_000,
      ),
      exitedEarly,
    ]);
  } catch (error) {
    await board.stop();
    throw new Error(`${(error as Error).message}\n--- tensorboard stderr ---\n${stderr}`);
  } finally {
    child.off('exit', onExit!);
  }
  return board;
}
