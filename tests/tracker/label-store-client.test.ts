// The typed label-store client (tracker-client/label-store.ts) against a tracker served over HTTP: every method the CLI
// and the active-learning activity use, errors that name the route, the status and the tracker's message, and a
// runtime that loads none of the tracker's server code.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { serve, type ServerType } from '@hono/node-server';
import { LabelStoreClient, LabelStoreRequestError } from '../../tracker-client/label-store.ts';
import { startTestTracker, type TestTracker } from './helpers.ts';

let dir: string;
let tracker: TestTracker;
let server: ServerType;
let url: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'label-store-client-'));
  tracker = startTestTracker(dir);
  server = serve({ fetch: tracker.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await tracker.close();
  await rm(dir, { recursive: true, force: true });
});

test('the client sets a project up, labels it by CSV, and publishes predictions and a queue', async () => {
  const labels = new LabelStoreClient({ url: `${url}/`, token: tracker.token });
  assert.deepEqual((await labels.projects()).projects, []);
  await labels.createProject({ id: 'shoes', root: 'shoes' });
  assert.deepEqual(
    (await labels.projects()).projects.map((p) => p.id),
    ['shoes'],
  );
  assert.equal(await labels.addImages('shoes', [{ key: 'a.png' }, { key: 'b.png' }, { key: 'c.png' }]), 3);
  assert.equal(await labels.addImages('shoes', [{ key: 'a.png' }]), 0, 'adding is idempotent per key');
  await labels.addClass('shoes', 'boot');
  await labels.addClass('shoes', 'sandal');
  tracker.store.setClassRetired('shoes', 'sandal', true);
  assert.deepEqual(await labels.classes('shoes'), [
    { name: 'boot', retired: false },
    { name: 'sandal', retired: true },
  ]);
  assert.deepEqual(await labels.activeClasses('shoes'), ['boot']);

  const csv = await labels.exportCsv('shoes');
  assert.match(csv, /^filepath,exclude,validation,boot,sandal\r?\n/);
  const summary = await labels.importCsv('shoes', 'filepath,exclude,validation,boot\na.png,0,0,1\nb.png,0,1,0\n');
  assert.deepEqual({ rows: summary.rows, changes: summary.changes, newImages: summary.newImages }, {
    rows: 2,
    changes: 3,
    newImages: 0,
  });
  assert.equal(tracker.store.historyEntries('shoes')[0]?.actor, 'api');

  await labels.putPredictions('shoes', { keys: ['a.png', 'c.png'], classes: ['boot'], probs: [[0.9], [0.4]] });
  assert.equal(tracker.store.hasPredictions('shoes'), true);
  const queue = await labels.putQueue('shoes', { round: 1, sort: 'max entropy', keys: ['c.png', 'a.png'] });
  assert.equal(queue.size, 2);
  assert.deepEqual((await tracker.call('GET', '/projects/shoes/queue')).body.keys, ['c.png', 'a.png']);
});

test('refusals name the route, the status and the tracker message, and carry the status', async () => {
  const labels = new LabelStoreClient({ url, token: tracker.token });
  const refused = async (call: Promise<unknown>, status: number, pattern: RegExp) => {
    const error = await call.then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof LabelStoreRequestError, String(error));
    assert.equal(error.status, status);
    assert.match(error.message, pattern);
  };
  await refused(labels.exportCsv('nope'), 404, new RegExp(`^GET ${url}/projects/nope/export\\.csv: 404 .*no project`));
  await refused(
    labels.putPredictions('nope', { keys: [], classes: ['x'], probs: [] }),
    404,
    /^PUT .*\/projects\/nope\/predictions: 404/,
  );
  await labels.createProject({ id: 'q' });
  await refused(
    labels.putQueue('q', { round: 0, sort: 'random', keys: ['missing.png'] }),
    400,
    /^PUT .*\/projects\/q\/queue: 400 .*not images of project q: "missing\.png"/,
  );
  const wrongToken = new LabelStoreClient({ url, token: 'not-the-token' });
  await refused(wrongToken.addClass('q', 'x'), 401, /POST .*\/projects\/q\/classes: 401 .*PATCHWORK_TOKEN is not the token/);
});

test('loading the client loads no tracker server code and no SQLite binding', async () => {
  const hooks = join(dir, 'hooks.mjs');
  await writeFile(
    hooks,
    `export async function resolve(specifier, context, next) {
       const result = await next(specifier, context);
       console.log('loaded ' + result.url);
       return result;
     }`,
  );
  const register = join(dir, 'register.mjs');
  await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const client = new URL('../../tracker-client/label-store.ts', import.meta.url).href;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', register, '--import', 'tsx', '--input-type=module', '-e', `await import(${JSON.stringify(client)})`],
    { cwd: new URL('../..', import.meta.url).pathname },
  );
  const loaded = stdout
    .split('\n')
    .filter((line) => line.startsWith('loaded '))
    .map((line) => line.slice('loaded '.length));
  assert.ok(loaded.some((u) => u.endsWith('/tracker-client/label-store.ts')), 'the hook saw the client load');
  assert.deepEqual(
    loaded.filter((u) => /\/tracker\/|better-sqlite3|drizzle-orm/.test(u)),
    [],
  );
});
