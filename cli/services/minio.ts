import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { findBinary } from './binaries.ts';
import { httpOk, startProcess, waitUntilReady, type ManagedProcess } from './process.ts';

export interface S3ServerOptions {
  port: number;
  consolePort?: number;
  dataDir: string;
  accessKey: string;
  secretKey: string;
  logDir: string;
  detached?: boolean;
}

export interface S3Server {
  endpoint: string;
  consoleUrl?: string;
  process: ManagedProcess;
}

/** Starts a MinIO server (built from source by scripts/setup) on loopback and waits for its health route. */
export async function startS3Server(options: S3ServerOptions): Promise<S3Server> {
  const binary = findBinary('minio');
  mkdirSync(options.dataDir, { recursive: true });
  const args = ['server', options.dataDir, '--address', `127.0.0.1:${options.port}`, '--quiet'];
  if (options.consolePort) args.push('--console-address', `127.0.0.1:${options.consolePort}`);
  const child = startProcess({
    name: 'minio',
    command: binary,
    args,
    env: {
      ...process.env,
      MINIO_ROOT_USER: options.accessKey,
      MINIO_ROOT_PASSWORD: options.secretKey,
      MINIO_BROWSER: options.consolePort ? 'on' : 'off',
      MINIO_UPDATE: 'off',
      MINIO_CALLHOME_ENABLE: 'off',
    },
    logFile: join(options.logDir, 'minio.log'),
    detached: options.detached,
  });
  const endpoint = `http://127.0.0.1:${options.port}`;
  await waitUntilReady(child, () => httpOk(`${endpoint}/minio/health/ready`), 60_000);
  return {
    endpoint,
    consoleUrl: options.consolePort ? `http://127.0.0.1:${options.consolePort}` : undefined,
    process: child,
  };
}
