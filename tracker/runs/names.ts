import { resolve, sep } from 'node:path';
import { isValidRunId, RUN_ID_RULE } from '../../contracts/run-id.ts';

/** The run's event-file directory, refusing anything that would resolve outside `logDir`. */
export function runDir(logDir: string, id: string): string {
  if (!isValidRunId(id)) throw new Error(`run id ${JSON.stringify(id)} is not allowed: ${RUN_ID_RULE}`);
  const root = resolve(logDir);
  const dir = resolve(root, id);
  if (!dir.startsWith(root.endsWith(sep) ? root : root + sep)) throw new Error(`run id ${JSON.stringify(id)} resolves outside the log dir`);
  return dir;
}
