import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../helpers/chromium.ts';
import sharp from 'sharp';
import { LocalStorage } from '../../../storage/index.ts';
import { answerError } from '../../../tracker/api/errors.ts';
import { labelsRouter } from '../../../tracker/labels/routes.tsx';
import { LabelStore } from '../../../tracker/labels/store.ts';
import { makeImage } from '../../helpers/images.ts';
import { freePort } from '../../helpers/net.ts';
import { screenshotPath } from '../../helpers/paths.ts';

const TOKEN = 'test-token-123';
const EVIL = '<script>alert(1)</script>';
let dir: string;
let store: LabelStore;
let server: ServerType;
let base: string;
let browser: Browser;
const dialogs: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labeler-'));
  const images = join(dir, 'images');
  await mkdir(join(images, 'shots'), { recursive: true });
  const keys = ['shots/a.png', 'shots/b.png', 'shots/c.png', 'shots/d.png'];
  for (const [i, key] of keys.entries())
    await writeFile(join(images, key), await makeImage('png', 64, 48, 3, i));
  await writeFile(join(dir, 'secret.png'), await makeImage('png', 8, 8, 3, 9)); // outside the storage root
  store = LabelStore.open(join(dir, 'labels.db'));
  store.createProject('demo', { name: 'Demo project' });
  store.addImages(
    'demo',
    keys.map((key) => ({ key })),
  );
  for (const name of ['cat', 'dog', EVIL]) store.addClass('demo', name);
  store.setPredictions(
    'demo',
    keys,
    ['cat', 'dog'],
    [
      [0.91, 0.12],
      [0.4, 0.55],
      [0.05, 0.7],
      [0.5, 0.5],
    ],
  );
  const app = new Hono().onError(answerError).route(
    '/projects',
    labelsRouter({ store, storage: new LocalStorage(images), token: TOKEN, cacheDir: join(dir, 'thumbs') }),
  );
  const port = await freePort();
  server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
  base = `http://127.0.0.1:${port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.close();
  store?.close();
  await rm(dir, { recursive: true, force: true });
});

async function openAs(labeler: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`${base}/projects/demo/label?subset=not+excluded&dim=2&token=${TOKEN}&labeler=${labeler}`);
  assert.ok(!page.url().includes('token='), 'the token leaves the address bar');
  await page.waitForSelector('#grid .card');
  return page;
}

/** htmx binds a swapped-in card during its settle step; a key pressed before that reaches an unbound element. */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(
    () =>
      !(globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector(
        '.htmx-request, .htmx-settling, .htmx-swapping, .htmx-added',
      ),
  );
}

/** The page updates a checkbox before its write reaches the server: poll the store until it agrees. */
async function storeSays(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`the label store never showed: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
const excluded = (key: string) => store.table('demo').find((r) => r.key === key)!.exclude;

const card = (key: string) => `#grid .card[data-key="${key}"]`;
const cell = (key: string, cls: string) => `${card(key)} .cls[data-class="${cls}"]`;
const value = (key: string, cls: string) => {
  const row = store.table('demo').find((r) => r.key === key)!;
  const c = store.classes('demo', { includeRetired: true }).find((x) => x.name === cls)!;
  return row.labels.get(c.id) ?? null;
};

test('label by click and keyboard, undo, reload keeps labels; hostile class name shown as text', async () => {
  const page = await openAs('alice');
  // The hostile class name is text, not markup, and nothing ran.
  assert.equal(await page.locator(`${card('shots/a.png')} .cls .name`, { hasText: EVIL }).count(), 1);
  assert.equal(await page.locator('script:not([src])').count(), 0);
  // Predictions are shown.
  assert.equal((await page.locator(`${cell('shots/a.png', 'cat')} .p`).textContent())!.trim(), '0.91');

  await settled(page);
  await page.click(`${cell('shots/a.png', 'cat')} button[data-v="1"]`);
  await page.waitForSelector(`${cell('shots/a.png', 'cat')}[data-value="1"]`);
  assert.equal(value('shots/a.png', 'cat'), 1);

  // Keyboard: select b by clicking its picture, '2' cycles dog ? -> yes -> no, 'x' excludes, 'u' undoes.
  await settled(page);
  await page.click(`${card('shots/b.png')} img`);
  await settled(page);
  await page.keyboard.press('2');
  await page.waitForSelector(`${cell('shots/b.png', 'dog')}[data-value="1"]`);
  await settled(page);
  await page.keyboard.press('2');
  await page.waitForSelector(`${cell('shots/b.png', 'dog')}[data-value="0"]`);
  assert.equal(value('shots/b.png', 'dog'), 0);
  await settled(page);
  await page.keyboard.press('x');
  await page.waitForSelector(`${card('shots/b.png')} input.exclude:checked`);
  await storeSays('b excluded', () => excluded('shots/b.png') === true);
  await settled(page);
  await page.keyboard.press('u');
  await page.waitForSelector(`${card('shots/b.png')} input.exclude:not(:checked)`);
  await storeSays('b no longer excluded after undo', () => excluded('shots/b.png') === false);
  await settled(page);
  await page.keyboard.press('x'); // exclude again: it must not come back after a reload

  await page.waitForSelector(`${card('shots/b.png')} input.exclude:checked`);
  await storeSays('b excluded again', () => excluded('shots/b.png') === true);
  await page.reload();
  await page.waitForSelector(`${cell('shots/a.png', 'cat')}[data-value="1"]`);
  assert.equal(await page.locator(card('shots/b.png')).count(), 0, 'excluded image left the queue');
  assert.equal(await page.locator('#counts tr[data-class="cat"] td').nth(1).textContent(), '1');
  assert.deepEqual(dialogs, []);
  await page.context().close();
});

test('rename keeps labels; retired class leaves the grid but stays in the export', async () => {
  const page = await openAs('alice');
  await settled(page);
  await page.selectOption('form[hx-post$="/classes/rename"] select', 'cat');
  await settled(page);
  await page.fill('form[hx-post$="/classes/rename"] input[name=to]', 'feline');
  await settled(page);
  await page.click('form[hx-post$="/classes/rename"] button');
  await page.waitForSelector(`${cell('shots/a.png', 'feline')}[data-value="1"]`);
  await settled(page);
  await page.selectOption('form[hx-post$="/classes/retire"] select', 'dog');
  await settled(page);
  await page.click('form[hx-post$="/classes/retire"] button');
  await page.waitForSelector('form:has(input[name=retired][value="0"])'); // the restore form appears after the reload
  assert.equal(await page.locator('#grid .cls[data-class="dog"]').count(), 0);
  const csv = await (await fetch(`${base}/projects/demo/export.csv`)).text();
  const [header, ...rows] = csv.trim().split('\n');
  assert.equal(header, `filepath,exclude,validation,feline,dog,${EVIL}`);
  assert.ok(rows.includes('shots/b.png,True,False,,0,'), csv);
  assert.ok(rows.includes('shots/a.png,False,False,1,,'), csv);
  await page.context().close();
});

test('two labelers at once on the same images: the history has both', async () => {
  const [a, b] = await Promise.all([openAs('alice'), openAs('bob')]);
  const before = store.historyEntries('demo').length;
  const work = async (page: Page, v: '0' | '1') => {
    for (const key of ['shots/c.png', 'shots/d.png']) {
      await page.click(`${cell(key, 'feline')} button[data-v="${v}"]`);
      await page.waitForSelector(`${cell(key, 'feline')}[data-value="${v}"]`);
    }
  };
  await Promise.all([work(a, '1'), work(b, '0')]);
  const h = store.historyEntries('demo').slice(0, store.historyEntries('demo').length - before);
  assert.equal(h.length, 4);
  assert.deepEqual(new Set(h.map((e) => e.actor)), new Set(['alice', 'bob']));
  await a.reload();
  assert.ok((await a.locator('#history tr.hist[data-actor="bob"]').count()) >= 2);
  assert.ok((await a.locator('#history tr.hist[data-actor="alice"]').count()) >= 2);
  await a.context().close();
  await b.context().close();
});

test('thumbnails are resized JPEGs; keys outside the project and writes without the token are refused', async () => {
  const res = await fetch(`${base}/projects/demo/images/shots/a.png?size=32`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/jpeg');
  const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 32, 24]);
  for (const path of [
    '..%2Fsecret.png',
    'shots%2F..%2F..%2Fsecret.png',
    'shots/..%5C..%5Csecret.png',
    '.%2Fshots/a.png',
  ]) {
    const r = await fetch(`${base}/projects/demo/images/${path}`);
    assert.equal(r.status, 400, `${path} -> ${r.status}`);
  }
  // Plain dot segments are resolved by the URL parser before routing: /projects/demo/secret.png matches no route.
  assert.equal((await fetch(`${base}/projects/demo/images/%2E%2E/secret.png`)).status, 404);
  assert.equal(
    (await fetch(`${base}/projects/demo/images/secret.png`)).status,
    404,
    'only the project’s own images',
  );
  const form = (fields: Record<string, string>) => new URLSearchParams(fields);
  const post = (
    headers: Record<string, string>,
    fields = { key: 'shots/a.png', class: 'feline', value: '0' },
  ) => fetch(`${base}/projects/demo/labels`, { method: 'POST', headers, body: form(fields) });
  assert.equal((await post({})).status, 401);
  assert.equal((await post({ authorization: 'Bearer wrong' })).status, 401);
  // The cookie alone (no htmx header, as a cross-site form would send) is refused.
  assert.equal((await post({ cookie: `pw_labels_token=${TOKEN}` })).status, 401);
  assert.equal(
    (await post({ authorization: `Bearer ${TOKEN}` }, { key: '../x.png', class: 'feline', value: '1' }))
      .status,
    400,
  );
  assert.equal(
    (await post({ authorization: `Bearer ${TOKEN}` }, { key: 'shots/a.png', class: 'feline', value: '2' }))
      .status,
    400,
  );
  assert.equal((await fetch(`${base}/projects/demo/label?token=wrong`)).status, 401);
  assert.equal(value('shots/a.png', 'feline'), 1, 'refused writes changed nothing');
  const ok = await post({ authorization: `Bearer ${TOKEN}`, 'x-patchwork-labeler': 'script' });
  assert.equal(ok.status, 200);
  assert.equal(value('shots/a.png', 'feline'), 0);
});

test('a write redraws only its own card and the counts; keys right after a swap act on the new card', async () => {
  const page = await openAs('carol');
  const target = 'shots/c.png';
  // Tag the cards now on the page: a card that is redrawn is a new element without the tag.
  await page.evaluate(() => {
    for (const el of (globalThis as any).document.querySelectorAll('#grid .card')) el.dataset.before = 'yes';
  });
  const before = store.counts('demo').find((c) => c.name === 'feline')!;
  const cur = value(target, 'feline');
  const next = cur === 1 ? '0' : '1';
  await page.click(`${cell(target, 'feline')} button[data-v="${next}"]`);
  await page.waitForSelector(`${cell(target, 'feline')}[data-value="${next}"]`);
  const tags = await page.$$eval('#grid .card', (cards) =>
    cards.map((c) => [(c as any).dataset.key, (c as any).dataset.before ?? 'redrawn']),
  );
  assert.deepEqual(
    tags.filter(([, tag]) => tag === 'redrawn').map(([key]) => key),
    [target],
    JSON.stringify(tags),
  );
  assert.ok(tags.length >= 2, 'other cards stayed');
  const after = store.counts('demo').find((c) => c.name === 'feline')!;
  assert.notDeepEqual(after, before);
  const shown = await page.locator('#counts tr[data-class="feline"] td').allTextContents();
  assert.deepEqual(shown.slice(1), [after.trainPos, after.trainNeg, after.valPos, after.valNeg].map(String));

  // A key pressed the moment the card is swapped in (before htmx could have bound anything) acts on the new card:
  // clearing the cell swaps the card, and a '1' sent from the swap event itself cycles it ? -> yes.
  // (Scripts as strings: tsx would wrap a named function in a helper the page does not have.)
  const key1 = "document.dispatchEvent(new KeyboardEvent('keydown', { key: '1', code: 'Digit1' }))";
  await page.evaluate(`document.addEventListener('htmx:afterSwap', () => ${key1}, { once: true })`);
  await page.click(`${cell(target, 'feline')} button[data-v=""]`);
  await storeSays('feline on c is yes', () => value(target, 'feline') === 1);
  await page.waitForSelector(`${cell(target, 'feline')}[data-value="1"]`);
  // Two presses in one task, before any answer: the second cycles on from what the first sent (yes -> no -> ?).
  await page.evaluate(`${key1}; ${key1}`);
  await storeSays(
    'feline on c went yes -> no -> unknown',
    () =>
      store.historyEntries('demo', { limit: 2, imageKey: target }).every((e) => e.actor === 'carol') &&
      store.historyEntries('demo', { limit: 1, imageKey: target })[0]!.oldValue === 0 &&
      value(target, 'feline') === null,
  );
  await page.waitForSelector(`${cell(target, 'feline')}[data-value=""]`);
  await page.context().close();
});

test('with a published queue the page opens on it: queue order, round shown, excluded and fully labelled skipped', async () => {
  const keys = ['shots/d.png', 'shots/b.png', 'shots/a.png', 'shots/c.png'];
  const put = await fetch(`${base}/projects/demo/queue`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ round: 4, sort: 'diverse (badge)', keys }),
  });
  assert.equal(put.status, 200, await put.text());
  const active = store.classes('demo');
  const rows = new Map(store.table('demo').map((r) => [r.key, r]));
  const waiting = (k: string) => !rows.get(k)!.exclude && !active.every((c) => rows.get(k)!.labels.has(c.id));
  const expectedOrder = keys.filter(waiting);
  assert.ok(expectedOrder.length >= 2 && !expectedOrder.includes('shots/b.png'), 'b was excluded earlier');

  const page = await openAs('alice');
  const order = () =>
    page.$$eval('#grid .card', (cards) => cards.map((c) => (c as any).dataset.key as string));
  assert.deepEqual(await order(), expectedOrder);
  assert.equal(await page.locator('#queue-info .round').textContent(), '4');
  assert.equal(await page.locator('select[name=sort] option:checked').textContent(), 'active learning queue');
  await page.screenshot({ path: screenshotPath('labeler.png'), fullPage: true });

  // Label every active class of the first queue image: after a reload it has left the queue view.
  const first = expectedOrder[0]!;
  for (const c of active) {
    await page.click(`${cell(first, c.name)} button[data-v="0"]`);
    await page.waitForSelector(`${cell(first, c.name)}[data-value="0"]`);
  }
  await page.reload();
  await page.waitForSelector('#grid .card');
  assert.deepEqual(await order(), expectedOrder.slice(1));
  await page.context().close();
});

test('a newly published round reaches an open page without a reload: round, queue line and grid follow', async () => {
  const page = await openAs('alice');
  const round = Number(await page.locator('#queue-info .round').textContent());
  const navigations: string[] = [];
  page.on('framenavigated', (frame) => navigations.push(frame.url()));
  const active = store.classes('demo');
  const rows = new Map(store.table('demo').map((r) => [r.key, r]));
  const waiting = store
    .table('demo')
    .map((r) => r.key)
    .filter((k) => !rows.get(k)!.exclude && !active.every((c) => rows.get(k)!.labels.has(c.id)));
  const keys = waiting.slice().reverse();
  const put = await fetch(`${base}/projects/demo/queue`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ round: round + 1, sort: 'rare first', keys }),
  });
  assert.equal(put.status, 200, await put.text());
  // Locator waits: the page's CSP forbids the string evaluation that waitForFunction needs.
  await page.waitForSelector(`#queue-info .round:text-is("${round + 1}")`, { timeout: 10_000 });
  await page.waitForSelector(`#grid .card:first-child[data-key=${JSON.stringify(keys[0])}]`, {
    timeout: 10_000,
  });
  assert.match((await page.locator('#queue-info').textContent())!, /ranked by rare first/);
  assert.deepEqual(navigations, [], 'the page was not reloaded');
  await page.context().close();
});
