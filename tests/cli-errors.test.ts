// A CLI command whose workflow fails prints the failure's root cause, not Temporal's generic "Workflow execution failed".
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { settingsToEnv } from '../schemas/settings.ts';
import { repoRoot } from './helpers/paths.ts';
import { startStack, type TestStack } from './helpers/stack.ts';

const bin = join(repoRoot, 'cli', 'bin.js');

describe('patchwork pretrain whose workflow fails', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startStack({ temporal: true });
    await stack.startWorker();
  });
  after(async () => {
    await stack?.stop();
  });

  function patchwork(args: string[]) {
    // Asynchronous: the worker is a child of this process's event loop.
    return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...settingsToEnv(stack.settings) }, cwd: stack.home });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      child.stderr.on('data', (chunk) => (err += chunk));
      child.on('exit', (code) => resolve({ code, out, err }));
    });
  }

  test('prints the innermost cause of the failure with its type', async () => {
    const notes = join(stack.home, 'notes');
    await mkdir(notes, { recursive: true });
    await writeFile(join(notes, 'readme.txt'), 'no images here');
    const result = await patchwork(['pretrain', 'deepcluster', '--images', notes, '--no-embed', '--id', 'pretrain-no-images']);
    assert.equal(result.code, 1, result.err);
    const line = result.err.split('\n').find((l) => l.startsWith('patchwork: '));
    assert.ok(line, result.err);
    assert.match(line, /^patchwork: Workflow execution failed: images: no images \(png, jpeg, tiff, webp, gif\) under .*notes \(BadSourceError\)$/);
  });
});
