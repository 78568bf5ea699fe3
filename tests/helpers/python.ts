import { spawn } from 'node:child_process';
import { venvPython } from './paths.ts';

export interface PythonOptions {
  /** Passed to the snippet as sys.argv[1] (JSON text); read it with json.loads(sys.argv[1]). */
  input?: unknown;
  /** Kill the interpreter after this many ms; default 120 s. */
  timeoutMs?: number;
}

/**
 * Runs `code` with the venv's Python (TensorBoard and TensorFlow installed) and parses the last line it prints to
 * stdout as JSON. TensorFlow's log noise goes to stderr, which is only shown when the snippet fails.
 */
export async function runPythonJson<T = unknown>(code: string, options: PythonOptions = {}): Promise<T> {
  const args = ['-c', code];
  if (options.input !== undefined) args.push(JSON.stringify(options.input));
  const child = spawn(venvPython, args, {
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3', PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timeoutMs = options.timeoutMs ?? 120_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code_ = await new Promise<number | null>((resolve, reject) => {
    child.on('error', (e) =>
      reject(
        new Error(`could not start ${venvPython} (run scripts/setup to create .tools/venv): ${e.message}`),
      ),
    );
    child.on('close', (c) => resolve(c));
  }).finally(() => clearTimeout(timer));
  if (code_ !== 0) {
    throw new Error(
      `python snippet exited with ${code_ ?? `a kill after ${timeoutMs} ms`}\n--- stderr ---\n${stderr.slice(-4000)}\n--- stdout ---\n${stdout.slice(-2000)}`,
    );
  }
  const lines = stdout.trim().split('\n');
  const last = lines.at(-1) ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(
      `python snippet did not end with a JSON line; stdout was:\n${stdout.slice(-2000)}\nstderr:\n${stderr.slice(-2000)}`,
    );
  }
}
