// The labeler's Train page end to end: Chromium picks a head and its options on a real tracker (the parameter count
// follows), presses Train, and the project's real active-learning workflow on a real worker runs the round with those
// settings; the page then shows the round's per-step loss and the per-class probability histograms. A second round
// asked not to update predictions fits only; a bad option is refused with a message on the page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { connectClient } from '../../../cli/temporal-client.ts';
import { activeLearningWorkflow, embedWorkflow } from '../../../workflows/index.ts';
import { TASK_QUEUES } from '../../../contracts/task-queues.ts';
import { activeLearningStatusQuery, activeLearningWorkflowId, stopActiveLearningSignal } from '../../../contracts/active-learning.ts';
import { headParameterCount } from '../../../ml/active/head-parameters.ts';
import { openStorage } from '../../../storage/index.ts';
import { readPartKeys } from '../../../storage/embeddings.ts';
import { readRoundRecipe } from '../../../storage/rounds.ts';
import { launchChromium } from '../../helpers/chromium.ts';
import { writeFiles } from '../../helpers/images.ts';
import { saveTinyFeatureModel } from '../../helpers/feature-model.ts';
import { screenshotPath } from '../../helpers/paths.ts';
import { patternImages } from '../../helpers/pretrain.ts';
import { startStack, type TestStack } from '../../helpers/stack.ts';
import { runCli } from '../../helpers/cli.ts';
import { settingsToEnv } from '../../../config/settings.ts';
import { startTracker, type LiveTracker } from '../../helpers/tracker.ts';

const PROJECT = 'shapes';
const truth = (key: string) => ({ stripes: key.startsWith('f0/') ? 1 : 0, round: key.startsWith('f2/') ? 1 : 0 });
const ROUND_WAIT_MS = 180_000;

describe('the Train page on a real loop', () => {
  let stack: TestStack;
  let tracker: LiveTracker;
  let browser: Browser;
  let keys: string[];
  let dim: number;

  async function api(method: string, path: string, body?: unknown) {
    const response = await fetch(`${tracker.url}/projects${path}`, {
      method,
      headers: { authorization: `Bearer ${tracker.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
  }

  before(async () => {
    stack = await startStack({ temporal: true });
    tracker = await startTracker(join(stack.home, 'tracker'), undefined, {
      TEMPORAL_ADDRESS: stack.settings.temporal.address,
      PATCHWORK_STORE: stack.settings.store,
    });
    stack.settings.tracker = { url: tracker.url, token: tracker.token };
    const files = await patternImages(24, 32);
    keys = files.map((f) => f.key).sort();
    await writeFiles(join(stack.home, 'images'), files);
    const model = await saveTinyFeatureModel(join(stack.home, 'user-model'));
    await stack.startWorker();
    const client = await connectClient(stack.settings);
    const embedded = await client.workflow.execute(embedWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: 'embed-train-page',
      args: [{ source: join(stack.home, 'images'), model: { path: model }, input: { imshape: [32, 32] }, projectorLimit: 0 }],
    });
    dim = (await readPartKeys(openStorage(stack.settings.store, stack.settings.s3), embedded.modelHash, 0)).dim;

    await api('POST', '', { id: PROJECT });
    await api('POST', `/${PROJECT}/images`, { images: keys.map((key) => ({ key })) });
    for (const name of ['stripes', 'round']) await api('POST', `/${PROJECT}/classes`, { name });
    for (const i of [0, 1, 2, 3, 4, 5, 6, 7])
      for (const [cls, value] of Object.entries(truth(keys[i * 3]!)))
        await api('POST', `/${PROJECT}/labels`, { key: keys[i * 3], class: cls, value: String(value) });
    for (const key of [keys[3], keys[15]]) await api('POST', `/${PROJECT}/flags`, { key, flag: 'validation', value: '1' });
    // No round starts by itself: only the page's Train button starts one.
    await client.workflow.start(activeLearningWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: activeLearningWorkflowId(PROJECT),
      args: [{ project: PROJECT, modelHash: embedded.modelHash, minNewLabels: 1000, pollIntervalMs: 3_600_000, head: { kind: 'logistic' } }],
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    const client = stack && (await connectClient(stack.settings).catch(() => undefined));
    await client?.workflow.getHandle(activeLearningWorkflowId(PROJECT)).signal(stopActiveLearningSignal).catch(() => undefined);
    await tracker?.stop();
    await stack?.stop();
  });

  const parameters = (kind: 'logistic' | 'mlp', hidden?: number) => headParameterCount({ kind, hidden }, { dim, classes: 2 });
  const loopStatus = async () =>
    (await connectClient(stack.settings)).workflow.getHandle(activeLearningWorkflowId(PROJECT)).query(activeLearningStatusQuery);

  async function openTrainPage(): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 } })).newPage();
    await page.goto(`${tracker.url}/projects/${PROJECT}/label?token=${tracker.token}&labeler=alice`);
    await page.click('a[href$="/train"]');
    await page.waitForSelector('#train-watch[data-phase="waiting"]');
    return page;
  }

  test('pick a head, train, see the round’s loss and histograms; a fit-only round keeps the predictions', async () => {
    const page = await openTrainPage();
    assert.equal(await page.locator('script:not([src])').count(), 0, 'no inline scripts');
    await page.waitForSelector(`#parameters[data-count="${parameters('logistic')}"]`);

    await page.selectOption('select[name="kind"]', 'mlp');
    await page.fill('input[name="hidden"]', '8');
    await page.press('input[name="hidden"]', 'Tab');
    await page.waitForSelector(`#parameters[data-count="${parameters('mlp', 8)}"]`);
    await page.fill('input[name="epochs"]', '2');
    await page.fill('input[name="samplesPerEpoch"]', '32');
    await page.fill('input[name="batchSize"]', '8');
    await page.click('#train-button');
    await page.waitForSelector('#train-status[data-requested="true"]');

    await page.waitForSelector('#results[data-round="1"]', { timeout: ROUND_WAIT_MS });
    const chosen = { kind: 'mlp', hidden: 8, epochs: 2, samplesPerEpoch: 32, batchSize: 8 };
    const recipe = await readRoundRecipe(openStorage(stack.settings.store, stack.settings.s3), activeLearningWorkflowId(PROJECT), 1);
    assert.deepEqual(recipe.head, chosen, 'the round fitted the head the page chose');
    assert.deepEqual((await loopStatus()).head, chosen, 'the loop keeps the chosen head for later rounds');
    // 2 epochs of 32 samples in batches of 8: 8 steps, one loss each.
    await page.waitForSelector('#loss figure.chart[data-points="8"] polyline');
    // 8 labelled images per class, 2 of them validation images; the other 16 unlabelled.
    for (const name of ['stripes', 'round'])
      await page.waitForSelector(`figure.histogram[data-class="${name}"][data-training="6"][data-validation="2"][data-unlabelled="16"]`);
    assert.match((await page.locator('#results').textContent())!, /Predictions published by round 1/);
    await page.screenshot({ path: screenshotPath('train-page.png'), fullPage: true });

    // Reloaded, the form shows the loop's head settings.
    await page.reload();
    await page.waitForSelector(`#parameters[data-count="${parameters('mlp', 8)}"]`);
    assert.equal(await page.inputValue('input[name="hidden"]'), '8');

    await page.selectOption('select[name="updatePredictions"]', '0');
    await page.click('#train-button');
    await page.waitForSelector('#results[data-round="2"]', { timeout: ROUND_WAIT_MS });
    const status = await loopStatus();
    assert.equal(status.last?.predictionsUpdated, false);
    assert.match((await page.locator('#results').textContent())!, /Predictions published by round 1/, 'predictions kept');
    await page.waitForSelector('#loss figure.chart[data-tag="round 2: training loss per step"]');
    const replay = await runCli(['label', 'replay', PROJECT, '--round', '2'], { env: { ...process.env, ...settingsToEnv(stack.settings) }, cwd: stack.home });
    assert.equal(replay.code, 0, replay.err);
    assert.match(replay.out, /round 2 only fitted its head .*comparing the head alone/);
    assert.match(replay.out, /^head +identical/m);

    await page.fill('input[name="learningRate"]', '0');
    await page.click('#train-button');
    await page.waitForSelector('#train-status:has-text("400: head learningRate must be a number > 0")');
    assert.equal((await loopStatus()).rounds, 2, 'a refused request starts no round');
  });
});
