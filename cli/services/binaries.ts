import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const toolsBin = join(repoRoot, '.tools', 'bin');

export class MissingBinaryError extends Error {
  constructor(name: string) {
    super(
      `${name} was not found in ${toolsBin} or on PATH. Run \`npm run setup\` (it builds ${name} into .tools/bin), or install ${name} and put it on PATH.`,
    );
    this.name = 'MissingBinaryError';
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The project's own build in .tools/bin wins; otherwise the first one on PATH. */
export function findBinary(name: string): string {
  const candidates = [join(toolsBin, name), ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, name))];
  const found = candidates.find(isExecutable);
  if (!found) throw new MissingBinaryError(name);
  return found;
}
