// A CLI command whose workflow fails prints the failure's root cause, not Temporal's generic "Workflow execution failed".
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { settingsToEnv } from '../config/settings.ts';
import { connectClient } from '../cli/temporal-client.ts';
import { runCli } from './helpers/cli.ts';
import { writeFiles } from './helpers/images.ts';
import { patternImages } from './helpers/pretrain.ts';
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
    // The CLI sees the model file exists; only the worker finds that it is not a model.
    const images = join(stack.home, 'images');
    await writeFiles(images, await patternImages(4));
    const model = join(stack.home, 'model.json');
    await writeFile(model, 'not a model');
    const result = await patchwork(['pretrain', 'deepcluster', '--images', images, '--init-model', model, '--no-embed', '--id', 'pretrain-bad-model']);
    assert.equal(result.code, 1, result.err);
    const line = result.err.split('\n').find((l) => l.startsWith('patchwork: '));
    assert.ok(line, result.err);
    assert.match(line, /^patchwork: Workflow execution failed: initialModel: could not load a tfjs LayersModel from .*model\.json.*\(BadConfigError\)$/);
  });

  test('a folder without images, a labels file that names none of them and a missing model fail before any workflow starts', async () => {
    const notes = join(stack.home, 'notes');
    await mkdir(notes, { recursive: true });
    await writeFile(join(notes, 'readme.txt'), 'no images here');
    const empty = await patchwork(['pretrain', 'deepcluster', '--images', notes, '--id', 'pretrain-no-images']);
    assert.equal(empty.code, 1);
    assert.match(empty.err, /--images .*notes: no image files/);
    const images = join(stack.home, 'images');
    const labels = join(stack.home, 'wrong-labels.csv');
    await writeFile(labels, 'filepath,label\nother/1.png,a\n');
    const wrong = await patchwork(['pretrain', 'iic', '--images', images, '--labels', labels, '--id', 'pretrain-wrong-labels']);
    assert.match(wrong.err, /--labels: labels .*wrong-labels\.csv: only 0 of its filepaths are labelled images of this run/);
    const missing = await patchwork(['pretrain', 'iic', '--images', images, '--init-model', join(stack.home, 'nope.h5'), '--id', 'pretrain-no-model']);
    assert.match(missing.err, /--init-model .*nope\.h5 does not exist/);
    const client = await connectClient(stack.settings);
    for (const id of ['pretrain-no-images', 'pretrain-wrong-labels', 'pretrain-no-model']) {
      await assert.rejects(client.workflow.getHandle(id).describe(), /not found/i, `${id} was never started`);
    }
  });
});
