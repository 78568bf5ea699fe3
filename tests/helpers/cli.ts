// Runs the patchwork CLI as its own process and collects its exit code and output. Asynchronous on purpose: the
// services the command talks to (tracker, workers) may be children of the test's event loop.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.ts';

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

export function runCli(args: string[], options: { env: NodeJS.ProcessEnv; cwd: string }): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'cli', 'bin.js'), ...args], options);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}
