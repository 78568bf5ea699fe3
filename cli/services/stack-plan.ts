// The services `patchwork up` starts on one machine, as a plan for the supervisor: in start order, with the
// environment each one needs and how to tell that it answers.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TASK_QUEUES } from '../../contracts/task-queues.ts';
import { repoRoot } from './binaries.ts';
import { s3ServerSpec } from './minio.ts';
import type { ServiceSpec } from './spec.ts';
import { temporalServerSpec } from './temporal.ts';

export interface StackOptions {
  home: string;
  logDir: string;
  /** Undefined when TEMPORAL_ADDRESS names a server that is not ours. */
  temporal?: { port: number; uiPort: number; namespace: string };
  s3?: { port: number; consolePort: number; accessKey: string; secretKey: string };
  tracker?: { port: number };
  tensorboard?: { port: number };
  /** The environment of the tracker and the workers: the settings later CLI calls will see. */
  childEnv: Record<string, string>;
}

export const tensorboardBin = join(repoRoot, '.tools', 'venv', 'bin', 'tensorboard');

export function stackPlan(options: StackOptions): ServiceSpec[] {
  const { home, logDir, childEnv } = options;
  const specs: ServiceSpec[] = [];
  if (options.temporal) {
    specs.push(
      temporalServerSpec({
        port: options.temporal.port,
        uiPort: options.temporal.uiPort,
        dbFile: join(home, 'temporal.db'),
        logDir,
        namespace: options.temporal.namespace,
      }),
    );
  }
  if (options.s3) {
    const dataDir = join(home, 's3');
    mkdirSync(dataDir, { recursive: true });
    specs.push(s3ServerSpec({ ...options.s3, dataDir, logDir }));
  }
  if (options.tracker) {
    const url = `http://127.0.0.1:${options.tracker.port}`;
    specs.push({
      name: 'tracker',
      command: process.execPath,
      args: ['--import', 'tsx', join(repoRoot, 'tracker', 'main.ts'), '--port', String(options.tracker.port)],
      env: { ...childEnv, PATCHWORK_TRACKER_URL: url },
      cwd: repoRoot,
      logFile: join(logDir, 'tracker.log'),
      ready: { kind: 'http', url: `${url}/health` },
      readyTimeoutMs: 60_000,
      dependsOn: [],
      slot: { kind: 'tracker' },
    });
  }
  if (options.tensorboard) {
    if (!existsSync(tensorboardBin)) {
      throw new Error(`${tensorboardBin} is missing; run \`npm run setup\` (it installs TensorBoard into .tools/venv), or pass --no-tensorboard`);
    }
    const logs = join(home, 'tensorboard');
    mkdirSync(logs, { recursive: true });
    const url = `http://127.0.0.1:${options.tensorboard.port}`;
    specs.push({
      name: 'tensorboard',
      command: tensorboardBin,
      args: ['--logdir', logs, '--host', '127.0.0.1', '--port', String(options.tensorboard.port), '--reload_interval', '5'],
      cwd: repoRoot,
      logFile: join(logDir, 'tensorboard.log'),
      ready: { kind: 'http', url: `${url}/data/environment` },
      readyTimeoutMs: 90_000,
      dependsOn: [],
      slot: { kind: 'tensorboard', url },
    });
  }
  for (const queue of Object.values(TASK_QUEUES)) {
    specs.push({
      name: `worker ${queue}`,
      command: process.execPath,
      args: ['--import', 'tsx', join(repoRoot, 'worker', 'main.ts'), '--queue', queue],
      env: childEnv,
      cwd: repoRoot,
      logFile: join(logDir, `worker-${queue}.log`),
      ready: { kind: 'log', text: 'worker {pid} polling' },
      readyTimeoutMs: 120_000,
      // A worker cannot start without Temporal; one restarted while Temporal is down would only crash again.
      dependsOn: options.temporal ? ['temporal'] : [],
      slot: { kind: 'worker', queue },
    });
  }
  return specs;
}
