import { Connection } from '@temporalio/client';
import { join } from 'node:path';
import { findBinary } from './binaries.ts';
import { startProcess, waitUntilReady, type ManagedProcess } from './process.ts';
import type { ServiceSpec } from './spec.ts';

export interface TemporalServerOptions {
  port: number;
  uiPort?: number;
  /** SQLite file: workflows survive a server restart when it persists. Omit for in-memory. */
  dbFile?: string;
  logDir: string;
  namespace?: string;
  detached?: boolean;
}

export interface TemporalServer {
  address: string;
  uiUrl?: string;
  process: ManagedProcess;
}

export async function temporalIsServing(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1_000 });
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } finally {
    await connection.close();
  }
}

const READY_TIMEOUT_MS = 90_000;

/** `temporal server start-dev` (the Temporal CLI's single-binary dev server) as a supervised service. */
export function temporalServerSpec(options: TemporalServerOptions): ServiceSpec {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn'];
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  if (options.namespace && options.namespace !== 'default') args.push('--namespace', options.namespace);
  return {
    name: 'temporal',
    command: findBinary('temporal'),
    args,
    logFile: join(options.logDir, 'temporal.log'),
    ready: { kind: 'temporal', address: `127.0.0.1:${options.port}` },
    readyTimeoutMs: READY_TIMEOUT_MS,
    dependsOn: [],
    slot: { kind: 'temporal' },
  };
}

/** Starts the dev server and waits for its API. */
export async function startTemporalServer(options: TemporalServerOptions): Promise<TemporalServer> {
  const spec = temporalServerSpec(options);
  const child = startProcess({ ...spec, detached: options.detached });
  const address = `127.0.0.1:${options.port}`;
  await waitUntilReady(child, () => temporalIsServing(address), READY_TIMEOUT_MS);
  return { address, uiUrl: options.uiPort ? `http://127.0.0.1:${options.uiPort}` : undefined, process: child };
}
