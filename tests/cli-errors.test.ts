// A CLI command whose workflow fails prints the failure's root cause, not Temporal's generic "Workflow execution failed".
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { settingsToEnv } from '../config/settings.ts';
import { runCli } from './helpers/cli.ts';
import { startStack, type TestStack } from './helpers/stack.ts';

describe('patchwork pretrain whose workflow fails', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startStack({ temporal: true });
    await stack.startWorker();
  });
  after(async () => {
    await stack?.stop();
  });

  const patchwork = (args: string[]) =>
    runCli(args, { env: { ...process.env, ...settingsToEnv(stack.settings) }, cwd: stack.home });

  test('prints the innermost cause of the failure with its type', async () => {
    const notes = join(stack.home, 'notes');
    await mkdir(notes, { recursive: true });
    await writeFile(join(notes, 'readme.txt'), 'no images here');
    const result = await patchwork([
      'pretrain',
      'deepcluster',
      '--images',
      notes,
      '--no-embed',
      '--id',
      'pretrain-no-images',
    ]);
    assert.equal(result.code, 1, result.err);
    const line = result.err.split('\n').find((l) => l.startsWith('patchwork: '));
    assert.ok(line, result.err);
    assert.match(
      line,
      /^patchwork: Workflow execution failed: images: no images \(png, jpeg, tiff, webp, gif\) under .*notes \(BadSourceError\)$/,
    );
  });
});
