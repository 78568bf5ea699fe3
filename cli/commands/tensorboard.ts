// `patchwork tensorboard`: the real TensorBoard from .tools/venv on the tracker's log dir (<PATCHWORK_HOME>/tensorboard).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadSettings } from '../../config/settings.ts';
import { tensorboardBin } from '../services/stack-plan.ts';

export async function tensorboardCommand(options: { port: number; host: string; loadFast: boolean }): Promise<void> {
  if (!existsSync(tensorboardBin)) {
    throw new Error(`${tensorboardBin} is missing; run scripts/setup (it installs TensorBoard into .tools/venv)`);
  }
  const logDir = join(loadSettings().home, 'tensorboard');
  mkdirSync(logDir, { recursive: true });
  console.log(`TensorBoard on ${logDir}: http://${options.host}:${options.port}`);
  const child = spawn(
    tensorboardBin,
    ['--logdir', logDir, '--host', options.host, '--port', String(options.port), `--load_fast=${options.loadFast}`],
    { stdio: 'inherit' },
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => child.kill(signal));
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, s) => resolve(c ?? (s ? 0 : 1)));
  });
  if (code !== 0) throw new Error(`tensorboard exited with ${code} (is port ${options.port} free? use --port)`);
}
