// After `npm run quickstart`: labels a few images of each class in the `fashion` project from the sample's true
// labels, starts a round (which publishes the map) and saves a screenshot of the map to docs/screenshots.
//   node --import tsx scripts/map-screenshot.ts [--per-class 6] [--class trouser]
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium } from '../tests/helpers/chromium.ts';
import { loadSettings } from '../config/settings.ts';
import { LabelStoreClient } from '../tracker-client/label-store.ts';

const { values } = parseArgs({
  options: { 'per-class': { type: 'string', default: '6' }, class: { type: 'string', default: 'trouser' } },
});
const settings = loadSettings();
const home = settings.home;
const project = 'fashion';
const tracker = settings.tracker;
if (!tracker.token) throw new Error('no tracker token: run `npm run quickstart` first (it starts the services and records one)');
const labels = new LabelStoreClient({ url: tracker.url, token: tracker.token });

// The sample's labels: filepath (fashion/<name>.png), label (class index or name).
const classes = (await labels.activeClasses(project)).slice();
const rows = (await readFile(join(home, 'sample-labels.csv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split(','));
const perClass = Number(values['per-class']);
const picked = new Map<string, number>();
const chosen: [string, string][] = [];
for (const [filepath, label] of rows) {
  const name = /^\d+$/.test(label!) ? classes[Number(label)]! : label!;
  if ((picked.get(name) ?? 0) >= perClass) continue;
  picked.set(name, (picked.get(name) ?? 0) + 1);
  chosen.push([filepath!.replace(/^fashion\//, ''), name]);
}
const headers = { authorization: `Bearer ${tracker.token}`, 'content-type': 'application/json' };
for (const [key, name] of chosen) {
  for (const c of classes) {
    const response = await fetch(`${tracker.url}/projects/${project}/labels`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ key, class: c, value: c === name ? '1' : '0' }),
    });
    if (!response.ok) throw new Error(`labelling ${key}: ${response.status} ${await response.text()}`);
  }
}
console.log(`labelled ${chosen.length} images (${perClass} per class); waiting for the round's map`);
const deadline = Date.now() + 600_000;
for (;;) {
  const info = await fetch(`${tracker.url}/projects/${project}/map/info`, { headers });
  if (info.ok) break;
  if (Date.now() > deadline) throw new Error('no map after 10 minutes: is the labeling loop running? (`patchwork label fashion --status`)');
  await new Promise((r) => setTimeout(r, 2000));
}
const browser = await launchChromium({ webgl: true });
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await page.goto(`${tracker.url}/projects/${project}/label?token=${encodeURIComponent(tracker.token)}&labeler=screenshot`);
  await page.goto(`${tracker.url}/projects/${project}/map`);
  await page.waitForSelector('body[data-ready="yes"]', { timeout: 120_000 });
  await page.selectOption('#map-class', values.class!);
  await page.selectOption('#color-by', 'p');
  await page.waitForTimeout(1000); // one frame of the WebGL redraw after the colour change; this is a screenshot, not a test
  const path = join(import.meta.dirname, '..', 'docs', 'screenshots', 'map-fashion-mnist.png');
  await page.screenshot({ path });
  console.log(`wrote ${path}`);
} finally {
  await browser.close();
}
