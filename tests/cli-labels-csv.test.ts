// `patchwork labels export|import`: the original's CSV layout through a real tracker process, errors naming the fix.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.ts';
import { startTracker, type LiveTracker } from './helpers/tracker.ts';

let home: string;
let tracker: LiveTracker;

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'patchwork-labels-csv-'));
  tracker = await startTracker(join(home, 'tracker'));
  await api('POST', '', { id: 'shoes' });
  await api('POST', '/shoes/images', { images: ['a.png', 'b.png', 'c.png'].map((key) => ({ key })) });
  for (const name of ['boot', 'sandal']) await api('POST', '/shoes/classes', { name });
  await api('POST', '/shoes/labels', { key: 'a.png', class: 'boot', value: '1' });
});
after(async () => {
  await tracker?.stop();
  await rm(home, { recursive: true, force: true });
});

async function api(method: string, path: string, body?: unknown): Promise<string> {
  const response = await fetch(`${tracker.url}/projects${path}`, {
    method,
    headers: { authorization: `Bearer ${tracker.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text;
}

const patchwork = (args: string[]) =>
  runCli(args, {
    env: {
      ...process.env,
      PATCHWORK_HOME: home,
      PATCHWORK_TRACKER_URL: tracker.url,
      PATCHWORK_TOKEN: tracker.token,
    },
    cwd: home,
  });

test('labels export writes the tracker export; import sets labels and adds images and classes', async () => {
  const file = join(home, 'shoes.csv');
  const exported = await patchwork(['labels', 'export', 'shoes', file]);
  assert.equal(exported.code, 0, exported.err);
  assert.match(exported.out, /wrote 3 images of shoes/);
  const csv = await readFile(file, 'utf8');
  assert.equal(csv, await api('GET', '/shoes/export.csv'));
  const stdout = await patchwork(['labels', 'export', 'shoes', '-']);
  assert.equal(stdout.out, csv);

  const header = csv.split('\n')[0]!;
  assert.match(header, /^filepath,exclude,validation.*,boot,sandal$/);
  await writeFile(file, 'filepath,exclude,validation,boot,sandal,heel\nb.png,,,0,1,\nd.png,,,,,1\n');
  const imported = await patchwork(['labels', 'import', 'shoes', file]);
  assert.equal(imported.code, 0, imported.err);
  assert.match(imported.out, /imported 2 rows into shoes: 3 values changed, 1 new images, new classes heel/);
  const after = await api('GET', '/shoes/export.csv');
  assert.match(after, /\nb\.png,[^\n]*,0,1,\n/);
  assert.match(after, /\nd\.png,[^\n]*,,,1\n/);
  assert.match(after, /\na\.png,[^\n]*,1,,\n/, 'rows not in the file keep their labels');
});

test('a missing file, an unknown project and a bad project id are reported with the fix', async () => {
  const missing = await patchwork(['labels', 'import', 'shoes', join(home, 'nope.csv')]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /nope\.csv: cannot read it \(ENOENT\); give a CSV file/);
  const unknown = await patchwork(['labels', 'export', 'sandals', join(home, 'x.csv')]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /GET .*\/projects\/sandals\/export\.csv: 404/);
  const badId = await patchwork(['labels', 'export', '../x', join(home, 'x.csv')]);
  assert.match(badId.err, /project "\.\.\/x" is not a valid project id/);
});
