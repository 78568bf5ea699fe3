// Run ids become directory names under the log dir, so they are checked before any path is built from them.
import { resolve, sep } from 'node:path';

/** One path segment: starts with a letter or digit, then letters, digits, '.', '_', '-'; at most 200 characters. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export const RUN_ID_RULE =
  'a run id is 1-200 characters of letters, digits, ".", "_" or "-", starting with a letter or digit (no "/" or "..")';

export function isValidRunId(id: string): boolean {
  return RUN_ID_PATTERN.test(id);
}

/** The run's event-file directory, refusing anything that would resolve outside `logDir`. */
export function runDir(logDir: string, id: string): string {
  if (!isValidRunId(id)) throw new Error(`run id ${JSON.stringify(id)} is not allowed: ${RUN_ID_RULE}`);
  const root = resolve(logDir);
  const dir = resolve(root, id);
  if (!dir.startsWith(root.endsWith(sep) ? root : root + sep)) throw new Error(`run id ${JSON.stringify(id)} resolves outside the log dir`);
  return dir;
}
