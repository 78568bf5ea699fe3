// Property-based fuzzing of every tracker route, in process: random and mutated bodies, paths, queries and tokens.
// Whatever is sent, the answer is never a 5xx, and a refused request (4xx) changes no file and no database row.
// PATCHWORK_FUZZ_RUNS sets the requests per route (default 1000: about 100 s on two cores).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { makeImage } from '../helpers/images.ts';
import { startTestTracker, type TestTracker } from './helpers.ts';

const RUNS = Number(process.env.PATCHWORK_FUZZ_RUNS ?? 1000);
/** A string in a template or mutation that is sent as the JSON number 1e999 (Infinity when parsed). */
const INF = '__1e999__';

let dir: string;
let tracker: TestTracker;
let png: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tracker-fuzz-'));
  await mkdir(join(dir, 'images', 'sub'), { recursive: true });
  const image = await makeImage('png', 8, 8, 3, 1);
  png = image.toString('base64');
  await writeFile(join(dir, 'images', 'a.png'), image);
  await writeFile(join(dir, 'images', 'sub', 'b.png'), image);
  await writeFile(join(dir, 'images', 'broken.png'), 'not an image');
  tracker = startTestTracker(dir);
  const ok = async (method: string, path: string, body: unknown) => {
    const r = await tracker.call(method, path, body);
    assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  };
  await ok('POST', '/api/runs', { run: 'r1', hparams: { lr: 0.1 } });
  await ok('POST', '/api/runs/r1/batches', {
    batchId: 'seed',
    items: [{ kind: 'scalar', tag: 'loss', step: 0, value: 1 }],
  });
  await ok('POST', '/projects', { id: 'p', name: 'P' });
  await ok('POST', '/projects/p/images', {
    images: [{ key: 'a.png' }, { key: 'sub/b.png' }, { key: 'broken.png' }, { key: 'missing.png' }],
  });
  await ok('POST', '/projects/p/classes', { name: 'cat' });
  await ok('POST', '/projects/p/classes', { name: 'dog' });
});
after(async () => {
  await tracker?.close();
  await rm(dir, { recursive: true, force: true });
});

// ---- arbitraries ----
const edgeValue = fc.constantFrom<unknown>(
  INF,
  2 ** 53 - 1,
  2 ** 53,
  -1,
  -0,
  0.5,
  1e308,
  -1e308,
  2 ** 31,
  '',
  ' ',
  '..',
  '../x',
  'a/../b',
  '/etc/passwd',
  'a//b',
  '=cmd',
  '\u0000',
  'NaN',
  'Infinity',
  '-Infinity',
  'é',
  'x'.repeat(2000),
  null,
  true,
  [],
  {},
  'cat',
  'a.png',
  'r1',
  'p',
);
const numericEdge = fc.constantFrom<unknown>(
  INF,
  2 ** 53 - 1,
  2 ** 53 - 2,
  2 ** 53,
  -1,
  -0,
  0.5,
  1e308,
  -1.7e308,
  2 ** 31,
  2 ** 32 + 1,
  5e-324,
  'NaN',
  0,
  1,
);
const anyValue = fc.oneof(
  { weight: 4, arbitrary: edgeValue },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer() },
);

type Json = unknown;
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((v, i) => paths(v, [...prefix, i]))];
  if (value && typeof value === 'object')
    return [prefix, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
  return [prefix];
}
function replaced(value: Json, path: (string | number)[], by: Json | typeof DELETE): Json {
  if (path.length === 0) return by === DELETE ? undefined : by;
  const [head, ...rest] = path;
  const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) };
  const next = replaced(copy[head!], rest, by);
  if (next === undefined && rest.length === 0) {
    if (Array.isArray(copy)) copy.splice(head as number, 1);
    else delete copy[head!];
  } else copy[head!] = next;
  return copy;
}
const DELETE = Symbol('delete');

/** Valid templates with up to three fields replaced, removed or added, or something else entirely. */
const mutated = (template: Json) =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .array(
          fc.tuple(
            fc.nat(),
            fc.oneof(anyValue, fc.constant(DELETE as unknown)),
            fc.option(numericEdge, { freq: 2 }),
          ),
          { minLength: 1, maxLength: 3 },
        )
        .map((changes) =>
          changes.reduce<Json>((body, [n, by, number]) => {
            const at = (path: (string | number)[]) => path.reduce<any>((v, k) => v?.[k], body);
            // Half the changes replace a number by another number at an edge (infinity, 2^53, -0, ...).
            const numbers = paths(body).filter((path) => typeof at(path) === 'number');
            if (number !== null && numbers.length > 0)
              return replaced(body, numbers[n % numbers.length]!, number as Json);
            const all = paths(body);
            return replaced(body, all[n % all.length]!, by as Json);
          }, template),
        ),
    },
    { weight: 1, arbitrary: fc.constant(template) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.string({ maxLength: 12 }), anyValue)
        .map(([k, v]) => ({ ...(template as object), [k]: v })),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((s) => ({ raw: s })) },
  );

/** A string in a template that is sent as a new batch id each time (a repeated id is acknowledged unread). */
const BATCH_ID = '__batch__';
let batches = 0;
const encode = (body: Json): string =>
  body && typeof body === 'object' && 'raw' in (body as object) && Object.keys(body as object).length === 1
    ? String((body as { raw: unknown }).raw)
    : (JSON.stringify(body) ?? 'null')
        .replaceAll(`"${INF}"`, '1e999')
        .replaceAll(`"${BATCH_ID}"`, () => `"fuzz-${++batches}"`);

const text = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
/** A path parameter: mostly one that exists (so bodies reach deep), sometimes a missing or hostile one. */
const param = (...existing: string[]) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...existing) },
    { weight: 1, arbitrary: fc.constantFrom('nope', '..', '%2E%2E', 'a%2Fb', '%00', 'A') },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map(encodeURIComponent) },
  );
/** Mostly the bearer token (added by call() when no authorization header is given), sometimes none or a wrong one. */
const auth = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Record<string, string>>({}) },
  { weight: 1, arbitrary: fc.constant<Record<string, string>>({ 'hx-request': 'true' }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<Record<string, string>>(
      { authorization: 'Bearer wrong' },
      { authorization: '' },
      { authorization: 'Basic abc' },
    ),
  },
);

interface Sent {
  method: string;
  path: string;
  body?: string;
  headers: Record<string, string>;
}

async function check(sent: Sent): Promise<void> {
  const before = tracker.snapshot();
  const r = await tracker.call(sent.method, sent.path, sent.body, sent.headers);
  assert.ok(
    r.status < 500,
    `${sent.method} ${sent.path} ${sent.body?.slice(0, 300)} → ${r.status} ${r.text.slice(0, 300)}`,
  );
  if (r.status >= 400)
    assert.deepEqual(
      tracker.snapshot(),
      before,
      `${sent.method} ${sent.path} → ${r.status} changed what is stored`,
    );
}

const routes: [string, () => fc.Arbitrary<Sent>][] = [];
/** A property per route; the arbitrary is built when the test runs (templates use fixtures made in before()). */
function route(name: string, arbitrary: () => fc.Arbitrary<Sent>) {
  routes.push([name, arbitrary]);
  test(name, async () => {
    await fc.assert(fc.asyncProperty(arbitrary(), check), { numRuns: RUNS });
  });
}

/** Requests to `path` with one of `templates` (valid bodies), mutated. */
const post = (
  method: string,
  path: fc.Arbitrary<string>,
  templates: Json | Json[],
  contentType = 'application/json',
) =>
  fc
    .record({
      path,
      body: fc.constantFrom(...(Array.isArray(templates) ? templates : [templates])).chain(mutated),
      headers: auth,
    })
    .map(({ path, body, headers }) => ({
      method,
      path,
      body: encode(body),
      headers: { 'content-type': contentType, ...headers },
    }));
const get = (path: fc.Arbitrary<string>) =>
  fc.record({ path, headers: auth }).map(({ path, headers }) => ({ method: 'GET', path, headers }));
const query = (keys: string[]) =>
  fc
    .array(
      fc.tuple(
        fc.constantFrom(...keys),
        fc.oneof(
          fc.string({ maxLength: 10 }),
          fc.constantFrom('0', '-1', '1e999', '16', '9999', 'random', 'unlabeled'),
        ),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => (pairs.length ? `?${new URLSearchParams(pairs)}` : ''));

describe('ingest API', () => {
  const run = param('r1', 'new-run');
  const scalar = { kind: 'scalar', tag: 'loss', step: 5, value: 0.5, wallTime: 1.7e9 };
  route('POST /api/runs', () =>
    post('POST', fc.constant('/api/runs'), [
      {
        run: 'r1',
        workflowId: 'w',
        startStep: 3,
        hparams: { lr: 0.1, opt: 'sgd', on: true },
        skipLogged: false,
      },
      { run: 'r1', skipLogged: true },
      { run: 'r1' },
    ]),
  );
  route('POST /api/runs/:run/batches', () =>
    post(
      'POST',
      run.map((r) => `/api/runs/${r}/batches`),
      [
        {
          batchId: BATCH_ID,
          items: [
            scalar,
            { kind: 'histogram', tag: 'w', step: 6, values: [1, 2, 3], buckets: 4 },
            { kind: 'text', tag: 'note', step: 6, text: 'hi' },
            { kind: 'image', tag: 'im', step: 7, png: [png] },
            { kind: 'hparams', values: { lr: 0.2 }, step: 8 },
          ],
        },
        { batchId: BATCH_ID, items: [{ kind: 'histogram', tag: 'h', step: 9, values: [0.5, -2] }] },
        { batchId: BATCH_ID, items: [{ kind: 'scalar', tag: 'special', step: 12, value: 'NaN' }] },
      ],
    ),
  );
  route('POST /api/runs/:run/finish', () =>
    post(
      'POST',
      run.map((r) => `/api/runs/${r}/finish`),
      { status: 'paused', step: 9 },
    ),
  );
  route('POST /api/runs/:run/model', () =>
    post(
      'POST',
      run.map((r) => `/api/runs/${r}/model`),
      { key: 'runs/r1/model.json', sha256: 'ab'.repeat(32), bytes: 10, step: 3 },
    ),
  );
  route('POST /api/runs/:run/projector', () =>
    post(
      'POST',
      run.map((r) => `/api/runs/${r}/projector`),
      [
        {
          name: 'emb',
          shape: [2, 2],
          values: Buffer.from(new Float32Array([1.5, 2.5, 3.5, 4.5]).buffer).toString('base64'),
          metadata: {
            columns: ['a', 'b'],
            rows: [
              ['x', 'y'],
              ['z', 'w'],
            ],
          },
          sprite: { thumbSize: 4, rgb: Buffer.alloc(2 * 4 * 4 * 3, 100).toString('base64') },
        },
        {
          name: 'one',
          shape: [2, 1],
          values: Buffer.from(new Float32Array([1.5, 2.5]).buffer).toString('base64'),
          metadata: { columns: ['a'], rows: [['x'], ['z']] },
        },
      ],
    ),
  );
  route('GET /api/runs, /runs pages', () =>
    get(
      fc
        .tuple(fc.constantFrom('/api/runs/', '/runs/', '/runs/table', '/health', '/'), param('r1'))
        .map(([base, r]) => (base.endsWith('/') ? base + r : base)),
    ),
  );
});
describe('label store', () => {
  const project = param('p');
  const under = (suffix: string) => project.map((p) => `/projects/${p}${suffix}`);
  route('POST /projects', () => post('POST', fc.constant('/projects'), { id: 'q', name: 'Q', root: 'sub' }));
  route('POST /projects/:p/images', () =>
    post('POST', under('/images'), { images: [{ key: 'a.png', viewKey: 'sub/b.png' }, { key: 'new.png' }] }),
  );
  route('PUT /projects/:p/predictions', () =>
    post('PUT', under('/predictions'), {
      keys: ['a.png', 'sub/b.png'],
      classes: ['cat', 'dog'],
      probs: [
        [0.5, 0.1],
        [1, 0],
      ],
    }),
  );
  route('PUT /projects/:p/queue', () =>
    post('PUT', under('/queue'), { round: 1, sort: 'badge', keys: ['sub/b.png', 'a.png'] }),
  );
  route('POST /projects/:p/labels', () =>
    post('POST', under('/labels'), { key: 'a.png', class: 'cat', value: '1' }),
  );
  route('POST /projects/:p/flags', () =>
    post('POST', under('/flags'), { key: 'a.png', flag: 'exclude', value: '1' }),
  );
  route('POST /projects/:p/undo', () => post('POST', under('/undo'), {}));
  route('POST /projects/:p/classes', () => post('POST', under('/classes'), { name: 'bird' }));
  route('POST /projects/:p/classes/rename', () =>
    post('POST', under('/classes/rename'), { from: 'dog', to: 'hound' }),
  );
  route('POST /projects/:p/classes/retire', () =>
    post('POST', under('/classes/retire'), { name: 'dog', retired: '1' }),
  );
  route('POST /projects/:p/labels as a form', () =>
    fc
      .record({ path: under('/labels'), key: anyValue, cls: anyValue, value: anyValue, headers: auth })
      .map(({ path, key, cls, value, headers }) => ({
        method: 'POST',
        path,
        body: new URLSearchParams({ key: text(key), class: text(cls), value: text(value) }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      })),
  );
  const cell = fc.oneof(
    fc.constantFrom(
      '',
      '0',
      '1',
      'True',
      'False',
      'a.png',
      'sub/b.png',
      "'=x",
      '=x',
      '"',
      ',',
      '\n',
      'cat',
      'filepath',
      'exclude',
    ),
    fc.string({ maxLength: 6 }),
  );
  route('POST /projects/:p/import.csv', () =>
    fc
      .record({
        path: under('/import.csv'),
        rows: fc.array(fc.array(cell, { minLength: 1, maxLength: 5 }), { maxLength: 5 }),
        header: fc.oneof(
          fc.constant<string[]>(['filepath', 'exclude', 'validation', 'cat']),
          fc.array(cell, { minLength: 1, maxLength: 5 }),
        ),
        headers: auth,
      })
      .map(({ path, rows, header, headers }) => ({
        method: 'POST',
        path,
        body: [header, ...rows]
          .map((r: string[]) =>
            r.map((c: string) => (/[",\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(','),
          )
          .join('\n'),
        headers: { 'content-type': 'text/csv', ...headers },
      })),
  );
  route('GET label store pages and reads', () =>
    get(
      fc
        .tuple(
          project,
          fc.constantFrom(
            '',
            '/queue',
            '/export.csv',
            '/classes',
            '/history',
            '/label',
            '/images/a.png',
            '/images/broken.png',
            '/images/missing.png',
            '/images/sub/b.png',
            '/images/..%2Fx',
            '/_static/labeler.js',
          ),
          query(['limit', 'size', 'subset', 'sort', 'dim', 'seed', 'labeler', 'token']),
        )
        .map(([p, suffix, q]) => `/projects/${p}${suffix}${q}`),
    ),
  );
});

test('sequences of requests to any routes', async () => {
  const any = fc.oneof(...routes.map(([, arbitrary]) => arbitrary()));
  await fc.assert(
    fc.asyncProperty(fc.array(any, { minLength: 2, maxLength: 4 }), async (sequence) => {
      for (const sent of sequence) await check(sent);
    }),
    { numRuns: RUNS },
  );
});
