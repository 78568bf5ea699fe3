import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const toolsDir = join(repoRoot, '.tools');
export const toolsBin = join(toolsDir, 'bin');
export const venvPython = join(toolsDir, 'venv', 'bin', 'python');
export const venvBin = join(toolsDir, 'venv', 'bin');
