import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const toolsDir = join(repoRoot, '.tools');
export const toolsBin = join(toolsDir, 'bin');
export const venvPython = join(toolsDir, 'venv', 'bin', 'python');
export const venvBin = join(toolsDir, 'venv', 'bin');

/**
 * Where a test saves a screenshot: docs/screenshots (committed) when UPDATE_SCREENSHOTS=1, otherwise the temp dir,
 * so an ordinary test run leaves the work tree clean.
 */
export function screenshotPath(name: string): string {
  return process.env.UPDATE_SCREENSHOTS === '1' ? join(repoRoot, 'docs', 'screenshots', name) : join(tmpdir(), `patchwork-${name}`);
}
