import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, openSync, readFileSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  /** Detached processes outlive the CLI that started them (`patchwork up`). */
  detached?: boolean;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export function startProcess(options: StartOptions): ManagedProcess {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = openSync(options.logFile, 'a');
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', log, log],
    detached: options.detached ?? false,
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${options.name} (${options.command})`);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', (error) => resolve(error.message));
  });
  if (options.detached) child.unref();
  const pid = child.pid;
  return {
    name: options.name,
    pid,
    child,
    logFile: options.logFile,
    exited,
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function tailOfLog(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Polls `ready` until it returns true, failing early (with the log's tail) if the process exits first.
 * Polling a real condition with a deadline is how we wait; there are no fixed sleeps.
 */
export async function waitUntilReady(
  service: ManagedProcess,
  ready: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone: number | string | undefined;
  void service.exited.then((code) => (gone = code));
  let delay = 50;
  while (Date.now() < deadline) {
    if (gone !== undefined) {
      throw new Error(`${service.name} exited (${gone}) before it was ready. Last log lines (${service.logFile}):\n${tailOfLog(service.logFile)}`);
    }
    if (await ready().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 1.5, 500);
  }
  throw new Error(`${service.name} was not ready after ${timeoutMs} ms. Last log lines (${service.logFile}):\n${tailOfLog(service.logFile)}`);
}

export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export class PortTakenError extends Error {
  constructor(what: string, port: number, flag: string) {
    super(`port ${port} for ${what} is already in use; stop whatever holds it (\`ss -ltnp | grep :${port}\`) or pick another with ${flag}`);
    this.name = 'PortTakenError';
  }
}

export async function assertPortFree(what: string, port: number, flag: string): Promise<void> {
  if (!(await isPortFree(port))) throw new PortTakenError(what, port, flag);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

export async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await response.arrayBuffer();
  return response.ok;
}
