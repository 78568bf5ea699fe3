// Run pages in real Chromium: the runs page lists a run, and the run's chart updates without a reload when more
// steps arrive through the API (htmx polling). Also takes a screenshot of real TensorBoard (default loader) on the
// tracker's log dir showing the tracker-written run: docs/screenshots/tensorboard-run.png.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.ts';
import sharp from 'sharp';
import { screenshotPath } from '../helpers/paths.ts';
import { pollUntil, startTensorBoard, type LiveTensorBoard } from '../helpers/tensorboard.ts';
import { startTracker, type LiveTracker } from '../helpers/tracker.ts';


let home: string;
let tracker: LiveTracker;
let browser: Browser;
let board: LiveTensorBoard | undefined;

async function post(path: string, body: unknown): Promise<void> {
  const response = await fetch(tracker.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tracker.token}` },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, `${path}: ${await response.text()}`);
}

const scalars = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => from + i).flatMap((step) => [
    { kind: 'scalar', tag: 'loss', step, value: 2 / (step + 1) + 0.05 * Math.sin(step) },
    { kind: 'scalar', tag: 'accuracy', step, value: 1 - 1 / (step + 2) },
  ]);

describe('run pages in Chromium', () => {
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'tracker-pages-'));
    tracker = await startTracker(home);
    browser = await launchChromium();
    await post('/api/runs', { run: 'pretrain-demo', workflowId: 'pretrain-demo', hparams: { lr: 0.01, method: 'deepcluster' } });
    await post('/api/runs/pretrain-demo/batches', { batchId: 'b0', items: scalars(0, 10) });
  });
  after(async () => {
    await browser?.close();
    await board?.stop();
    await tracker?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  test('the runs page lists the run and its chart updates without a reload', async () => {
    const page = await browser.newPage();
    await page.goto(`${tracker.url}/runs?token=${tracker.token}`); // starts a session, then shows /runs
    const row = page.locator('tr[data-run="pretrain-demo"]');
    await row.waitFor();
    assert.match(await row.innerText(), /pretrain-demo\s+running\s+9/);
    await row.locator('a').click();
    await page.waitForURL(/\/runs\/pretrain-demo$/);
    const chart = page.locator('figure.chart[data-tag="loss"]');
    await chart.waitFor();
    const before = await chart.locator('polyline').getAttribute('points');
    assert.equal(await chart.getAttribute('data-points'), '10');
    const marker = await page.evaluate(() => ((globalThis as any).__sameDocument = true));
    assert.equal(marker, true);

    await post('/api/runs/pretrain-demo/batches', { batchId: 'b1', items: scalars(10, 25) });
    await page.waitForFunction(
      () => (globalThis as any).document.querySelector('figure.chart[data-tag="loss"]')?.getAttribute('data-points') === '25',
      undefined,
      { timeout: 30_000, polling: 200 },
    );
    const after = await chart.locator('polyline').getAttribute('points');
    assert.notEqual(after, before);
    assert.equal(after!.split(' ').length, 25);
    assert.equal(await page.evaluate(() => (globalThis as any).__sameDocument), true, 'the page must not have reloaded');
    assert.match(await page.locator('table.hparams').innerText(), /method\s+deepcluster/);
    await page.close();
  });

  test('TensorBoard (default loader) on the tracker log dir shows the run: screenshot', async () => {
    board = await startTensorBoard(tracker.logDir, { loadFast: true });
    await pollUntil('TensorBoard to serve the tracker-written scalars', async () => {
      const r = await board!.getJson<[number, number, number][]>('/data/plugin/scalars/scalars?run=pretrain-demo&tag=loss');
      return r.status === 200 && r.body.length === 25 ? true : undefined;
    });
    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    await page.goto(`${board.url}/#scalars`);
    await page.getByText('accuracy', { exact: false }).first().waitFor({ timeout: 60_000 });
    // Both charts drawn: their line paths (Plottable SVG; the locator pierces the shadow DOM) have all 25 points.
    await pollUntil(
      'TensorBoard to draw both scalar lines',
      async () => {
        const lengths = await page.locator('path').evaluateAll((paths) =>
          paths.map((p) => (p.getAttribute('d') ?? '').split(/[LM]/).length - 1),
        );
        return lengths.filter((n) => n >= 25).length >= 2 ? true : undefined;
      },
      60_000,
    );
    const shot = await page.screenshot({ type: 'png' });
    const small = await sharp(shot).resize({ width: 900 }).png({ palette: true, colours: 64 }).toBuffer();
    await sharp(small).toFile(screenshotPath('tensorboard-run.png'));
    assert.ok(small.length < 200_000, `screenshot is ${small.length} bytes`);
    await page.close();
  });
});
