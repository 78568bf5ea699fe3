import { Connection } from '@temporalio/client';
import { join } from 'node:path';
import { findBinary } from './binaries.ts';
import { startProcess, waitUntilReady, type ManagedProcess } from './process.ts';

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
    await connection.workflowService.getSystemInfo({}, );
    return true;
  } finally {
    await connection.close();
  }
}

/** Starts `temporal server start-dev` (the Temporal CLI's single-binary dev server) and waits for its API. */
export async function startTemporalServer(options: TemporalServerOptions): Promise<TemporalServer> {
  const binary = findBinary('temporal');
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn'];
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  if (options.namespace && options.namespace !== 'default') args.push('--namespace', options.namespace);
  const child = startProcess({
    name: 'temporal',
    command: binary,
    args,
    logFile: join(options.logDir, 'temporal.log'),
    detached: options.detached,
  });
  const address = `127.0.0.1:${options.port}`;
  await waitUntilReady(child, () => temporalIsServing(address), 90_000);
  return { address, uiUrl: options.uiPort ? `http://127.0.0.1:${options.uiPort}` : undefined, process: child };
}
