import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { findBinary } from './binaries.ts';
import { httpOk, startProcess, waitUntilReady, type ManagedProcess } from './process.ts';
import type { ServiceSpec } from './spec.ts';

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

/** A MinIO server (built from source by scripts/setup) on loopback, ready once its health route answers. */
export function s3ServerSpec(options: S3ServerOptions): ServiceSpec {
  const args = ['server', options.dataDir, '--address', `127.0.0.1:${options.port}`, '--quiet'];
  if (options.consolePort) args.push('--console-address', `127.0.0.1:${options.consolePort}`);
  return {
    name: 's3',
    command: findBinary('minio'),
    args,
    env: {
      ...(process.env as Record<string, string>),
      MINIO_ROOT_USER: options.accessKey,
      MINIO_ROOT_PASSWORD: options.secretKey,
      MINIO_BROWSER: options.consolePort ? 'on' : 'off',
      MINIO_UPDATE: 'off',
      MINIO_CALLHOME_ENABLE: 'off',
    },
    logFile: join(options.logDir, 'minio.log'),
    ready: { kind: 'http', url: `http://127.0.0.1:${options.port}/minio/health/ready` },
    readyTimeoutMs: 60_000,
    dependsOn: [],
    slot: { kind: 's3' },
  };
}

export async function startS3Server(options: S3ServerOptions): Promise<S3Server> {
  mkdirSync(options.dataDir, { recursive: true });
  const spec = s3ServerSpec(options);
  const child = startProcess({ ...spec, name: 'minio', detached: options.detached });
  const endpoint = `http://127.0.0.1:${options.port}`;
  await waitUntilReady(child, () => httpOk(`${endpoint}/minio/health/ready`), spec.readyTimeoutMs);
  return {
    endpoint,
    consoleUrl: options.consolePort ? `http://127.0.0.1:${options.consolePort}` : undefined,
    process: child,
  };
}
