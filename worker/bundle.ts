import { bundleWorkflowCode } from '@temporalio/worker';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const workflowsDir = fileURLToPath(new URL('../workflows', import.meta.url));
const require = createRequire(import.meta.url);

/** Relative imports and re-exports that survive into the bundle (`import type` statements vanish). */
const RELATIVE_IMPORT = /(?:^|\n)\s*(?:import(?!\s+type\b)|export)\b[^'";]*?['"](\.{1,2}\/[^'"]+)['"]/g;

/** Every repository file the workflow bundle is built from: workflows/index.ts and what it imports, transitively. */
export async function bundleSources(): Promise<string[]> {
  const seen = new Set<string>();
  const queue = [join(workflowsDir, 'index.ts')];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = await readFile(file, 'utf8');
    for (const match of text.matchAll(RELATIVE_IMPORT)) {
      const target = resolve(dirname(file), match[1]!);
      queue.push((await stat(target)).isDirectory() ? join(target, 'index.ts') : target);
    }
  }
  return [...seen].sort();
}

/** Hash of the bundle's source files and the SDK version: the bundle is rebuilt only when one changes. */
async function workflowSourceHash(): Promise<string> {
  const hash = createHash('sha256');
  hash.update(String(require('@temporalio/worker/package.json').version));
  for (const file of await bundleSources()) {
    hash.update(relative(workflowsDir, file));
    hash.update(await readFile(file));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Builds the workflow bundle once and caches it under <home>/cache, so every worker process (and every
 * test) loads the same file instead of running webpack again.
 */
export async function ensureWorkflowBundle(home: string): Promise<string> {
  const dir = join(home, 'cache');
  const path = join(dir, `workflow-bundle-${await workflowSourceHash()}.js`);
  if (await stat(path).catch(() => null)) return path;
  await mkdir(dir, { recursive: true });
  const { code } = await bundleWorkflowCode({ workflowsPath: join(workflowsDir, 'index.ts'), logger: quietLogger });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, code);
  await rename(temp, path);
  return path;
}

const noop = () => {};
const quietLogger = { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop };
