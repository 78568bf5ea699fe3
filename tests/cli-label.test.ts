// `patchwork label` / `patchwork retrain` against a real Temporal server, worker and tracker.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { settingsToEnv } from '../config/settings.ts';
import { connectClient } from '../cli/temporal-client.ts';
import { activeLearningWorkflowId, stopActiveLearningSignal } from '../contracts/active-learning.ts';
import { runCli } from './helpers/cli.ts';
import { writeFiles } from './helpers/images.ts';
import { saveTinyFeatureModel } from './helpers/feature-model.ts';
import { freePort } from './helpers/net.ts';
import { patternImages } from './helpers/pretrain.ts';
import { startStack, type TestStack } from './helpers/stack.ts';
import { untilRound } from './helpers/active-learning.ts';
import { startTracker, type LiveTracker } from './helpers/tracker.ts';

describe('patchwork label / retrain', () => {
  let stack: TestStack;
  let tracker: LiveTracker;
  let env: NodeJS.ProcessEnv;
  let images: string;
  let model: string;
  let keys: string[];

  const patchwork = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    runCli(args, { env: { ...env, ...extraEnv }, cwd: stack.home });
  async function api(method: string, path: string, body?: unknown) {
    const response = await fetch(`${tracker.url}/projects${path}`, {
      method,
      headers: { authorization: `Bearer ${tracker.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
    return response.json();
  }

  before(async () => {
    stack = await startStack({ temporal: true });
    tracker = await startTracker(join(stack.home, 'tracker'));
    stack.settings.tracker = { url: tracker.url, token: tracker.token };
    const files = await patternImages(16, 32);
    keys = files.map((f) => f.key).sort();
    images = join(stack.home, 'images');
    await writeFiles(images, files);
    model = await saveTinyFeatureModel(join(stack.home, 'user-model'));
    await stack.startWorker();
    env = { ...process.env, ...settingsToEnv(stack.settings) };
  });
  after(async () => {
    await tracker?.stop();
    await stack?.stop();
  });

  test('bad flags, a stopped tracker and an unknown run are reported with the fix', async () => {
    const both = await patchwork(['label', 'shoes', '--images', images, '--run', 'r', '--model', model]);
    assert.equal(both.code, 1);
    assert.match(both.err, /give exactly one of --run .*, --model/);
    const noImages = await patchwork(['label', 'shoes', '--model', model]);
    assert.match(noImages.err, /--images <dir\|s3:\/\/bucket\/prefix> is required/);
    const shoes = (...extra: string[]) => patchwork(['label', 'shoes', '--images', images, '--model', model, ...extra]);
    const missingDir = await patchwork(['label', 'shoes', '--images', join(images, 'nope'), '--model', model]);
    assert.match(missingDir.err, /--images .*nope: no such folder/);
    const badId = await patchwork(['label', '../x', '--images', images, '--model', model]);
    assert.match(badId.err, /project "\.\.\/x" is not a valid project id/);
    const badEvery = await shoes('--every', '0');
    assert.match(badEvery.err, /0 is not a positive integer/);
    const badSort = await shoes('--sort', 'best');
    assert.match(
      badSort.err,
      /--sort "best" is not a queue ordering; use one of: diverse \(badge\), rare first, balanced uncertainty/,
    );
    const badHead = await shoes('--head', 'forest');
    assert.match(badHead.err, /--head "forest" is not a head; use one of: logistic, linear, mlp, pool, convnet/);
    const sgdOnly = await shoes('--entropy-weight', '0.1');
    assert.match(sgdOnly.err, /--entropy-weight applies to --head linear, mlp, pool or convnet, not to the logistic head/);
    const mapsNeeded = await shoes('--head', 'convnet');
    assert.match(mapsNeeded.err, /--head convnet trains on feature maps: add --feature-maps/);
    const convnetOnly = await shoes('--head', 'pool', '--feature-maps', '--filters', '8');
    assert.match(convnetOnly.err, /--filters only apply to --head convnet/);
    const badKernel = await shoes('--head', 'convnet', '--feature-maps', '--kernel', '5');
    assert.match(badKernel.err, /head kernel must be 1 or 3, got 5 \(check the --head flags\)/);
    const threeSources = await shoes('--embeddings', 'abc');
    assert.match(threeSources.err, /give exactly one of --run .*--model .*--embeddings/);
    const badSmoothing = await shoes('--head', 'linear', '--label-smoothing', '1');
    assert.match(badSmoothing.err, /--label-smoothing 1 is out of range: use a number >= 0 and below 1/);

    const down = `http://127.0.0.1:${await freePort()}`;
    const noTracker = await patchwork(['label', 'shoes', '--images', images, '--model', model], {
      PATCHWORK_TRACKER_URL: down,
    });
    assert.equal(noTracker.code, 1);
    assert.match(noTracker.err, new RegExp(`the tracker at ${down} is not running.*patchwork up`));

    const unknownRun = await patchwork(['label', 'shoes', '--images', images, '--run', 'no-such-run']);
    assert.equal(unknownRun.code, 1);
    assert.match(
      unknownRun.err,
      /--run no-such-run: no exported model at runs\/no-such-run\/model\/model\.json/,
    );
    assert.match(unknownRun.err, /patchwork runs/);

    const noLoop = await patchwork(['retrain', 'shoes']);
    assert.equal(noLoop.code, 1);
    assert.match(
      noLoop.err,
      /no active-learning loop is running for project shoes: start it with `patchwork label shoes/,
    );
    const { projects } = (await api('GET', '')) as { projects: { id: string }[] };
    assert.ok(!projects.some((p) => p.id === 'shoes'), 'failed calls created no project');
  });

  test('label sets the project up and starts the loop; a second call attaches; retrain and --status', async () => {
    const args = [
      'label',
      'demo',
      '--images',
      images,
      '--model',
      model,
      '--classes',
      'stripes,round',
      '--every',
      '4',
      '--sort',
      'balanced uncertainty',
    ];
    const first = await patchwork(args);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /embedded 16 new images/);
    assert.ok(first.out.includes(`created project demo (images under ${images})`), first.out);
    assert.match(first.out, /project demo: 16 images \(16 new\), 2 classes/);
    assert.match(first.out, /started label-demo/);
    const link = first.out.match(/label at (\S+)/)?.[1];
    assert.equal(
      link,
      `${tracker.url}/projects/demo/label?token=${tracker.token}&labeler=${process.env.USER ?? 'web'}`,
    );
    const page = await fetch(link!, { redirect: 'manual' });
    assert.equal(page.status, 303, 'the link logs the labeler in');
    const thumb = await fetch(`${tracker.url}/projects/demo/images/${keys[0]}?size=32`, { headers: { authorization: `Bearer ${tracker.token}` } });
    assert.equal(thumb.status, 200, 'the tracker reads thumbnails from the folder given to --images');
    assert.equal(thumb.headers.get('content-type'), 'image/jpeg');

    const exported = await (await fetch(`${tracker.url}/projects/demo/export.csv`, { headers: { authorization: `Bearer ${tracker.token}` } })).text();
    const lines = exported.trim().split('\n');
    assert.equal(lines[0], 'filepath,exclude,validation,stripes,round');
    assert.deepEqual(
      lines
        .slice(1)
        .map((l) => l.split(',')[0])
        .sort(),
      keys,
    );

    // Label two images of each family: 16 cells >= --every 4 starts round 1 without a signal.
    const labelled = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => keys[i * 2]!);
    for (const key of labelled) {
      await api('POST', '/demo/labels', { key, class: 'stripes', value: key.startsWith('f0/') ? '1' : '0' });
      await api('POST', '/demo/labels', { key, class: 'round', value: key.startsWith('f2/') ? '1' : '0' });
    }
    const client = await connectClient(stack.settings);
    const handle = client.workflow.getHandle(activeLearningWorkflowId('demo'));
    await untilRound(handle, 1);
    const status = await patchwork(['label', 'demo', '--status']);
    assert.equal(status.code, 0, status.err);
    assert.match(
      status.out,
      /label-demo: waiting, 1 round done, 16 label cells set \(a round starts every 4 new labels, or on `patchwork retrain demo`; queue by balanced uncertainty\)/,
    );
    assert.match(status.out, /last round 1: 16 labels, mean AUC \d\.\d{3} \(train images\), queue of 8/);

    const again = await patchwork(args);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /embedded 0 new images \(16 already were/);
    assert.match(again.out, /project demo: 16 images \(0 new\), 2 classes/);
    assert.match(again.out, /attached to label-demo, already running/);
    assert.doesNotMatch(again.out, /created project/);

    const noKind = await patchwork(['retrain', 'demo', '--head-epochs', '2']);
    assert.match(noKind.err, /--head-epochs need --head <kind>: retrain replaces the loop's head settings/);
    const retrain = await patchwork(['retrain', 'demo', '--head', 'mlp', '--hidden', '8', '--head-epochs', '2']);
    assert.equal(retrain.code, 0, retrain.err);
    assert.match(retrain.out, /label-demo: a round starts now with the head \{"kind":"mlp","hidden":8,"epochs":2\}/);
    await untilRound(handle, 2);
    const afterRetrain = await patchwork(['label', 'demo', '--status']);
    assert.match(afterRetrain.out, /2 rounds done/);
    assert.match(afterRetrain.out, /head: \{"kind":"mlp","hidden":8,"epochs":2\}/);

    await handle.signal(stopActiveLearningSignal);
    assert.equal((await handle.result()).rounds, 2);

    // A new loop for the project (same workflow id, so the same tracker run) goes on from round 3.
    const restarted = await patchwork(args);
    assert.equal(restarted.code, 0, restarted.err);
    assert.match(restarted.out, /started label-demo, continuing after round 2/);
    assert.match(restarted.out, /label-demo: waiting, 2 rounds done/);
    assert.equal((await patchwork(['retrain', 'demo'])).code, 0);
    const third = await untilRound(handle, 3);
    assert.equal(third.last!.round, 3);
    await handle.signal(stopActiveLearningSignal);
    assert.equal((await handle.result()).rounds, 3);
  });
});
