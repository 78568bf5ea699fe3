// Starts the real tracker process (tracker/main.ts) on a free port with its state in `home`, and can kill it
// (SIGKILL) and start it again on the same port and home, as a crashed and restarted tracker would be.
import { join } from 'node:path';
import {
  freePort,
  httpOk,
  startProcess,
  waitUntilReady,
  type ManagedProcess,
} from '../../cli/services/process.ts';
import { repoRoot } from './paths.ts';

export interface LiveTracker {
  url: string;
  token: string;
  home: string;
  logDir: string;
  process(): ManagedProcess;
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** `env` adds to the tracker's environment, e.g. TEMPORAL_ADDRESS so that label writes signal labeling loops. */
export async function startTracker(
  home: string,
  token = 'test-token',
  env: NodeJS.ProcessEnv = {},
): Promise<LiveTracker> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let current: ManagedProcess;
  const launch = async () => {
    current = startProcess({
      name: 'tracker',
      command: process.execPath,
      args: ['--import', 'tsx', join(repoRoot, 'tracker', 'main.ts'), '--port', String(port)],
      env: {
        ...process.env,
        PATCHWORK_HOME: home,
        PATCHWORK_TOKEN: token,
        PATCHWORK_TRACKER_URL: url,
        TEMPORAL_ADDRESS: '',
        ...env,
      },
      cwd: repoRoot,
      logFile: join(home, 'tracker.log'),
    });
    await waitUntilReady(current, () => httpOk(`${url}/health`), 60_000);
  };
  await launch();
  return {
    url,
    token,
    home,
    logDir: join(home, 'tensorboard'),
    process: () => current,
    async kill() {
      await current.stop('SIGKILL');
    },
    async restart() {
      await launch();
    },
    async stop() {
      await current.stop('SIGTERM', 5_000);
    },
  };
}
