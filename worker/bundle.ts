import { bundleWorkflowCode } from '@temporalio/worker';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const workflowsDir = fileURLToPath(new URL('../workflows', import.meta.url));
const require = createRequire(import.meta.url);

/** Hash of every workflow source file and the SDK version: the bundle is rebuilt only when one changes. */
async function workflowSourceHash(): Promise<string> {
  const hash = createHash('sha256');
  hash.update(String(require('@temporalio/worker/package.json').version));
  for (const name of (await readdir(workflowsDir)).sort()) {
    if (!name.endsWith('.ts')) continue;
    hash.update(name);
    hash.update(await readFile(join(workflowsDir, name)));
  }
  // Activities' types are imported by workflows, but type-only imports vanish from the bundle.
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
