// Reads need the token or a labeler session on every route but /health; PATCHWORK_PUBLIC_READ opens them on purpose.
// Hosts that are not the tracker's names are refused without the token (DNS rebinding), and every response carries
// no-sniff, no-framing and content security policy headers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackerHostNames } from '../../tracker/api/access.ts';
import { makeImage } from '../helpers/images.ts';
import { startTestTracker, type TestTracker } from './helpers.ts';

const TOKEN = 'read-token';
let dir: string;
let tracker: TestTracker;
let open: TestTracker;

const READS = [
  '/api/runs',
  '/api/runs/r1',
  '/runs',
  '/runs/table',
  '/runs/r1',
  '/static/styles.css',
  '/',
  '/projects',
  '/projects/p/label',
  '/projects/p/export.csv',
  '/projects/p/classes',
  '/projects/p/history',
  '/projects/p/images/a.png',
  '/projects/_static/labeler.js',
];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tracker-reads-'));
  await mkdir(join(dir, 'images'));
  await writeFile(join(dir, 'images', 'a.png'), await makeImage('png', 8, 8, 3, 1));
  tracker = startTestTracker(join(dir), {
    token: TOKEN,
    tracker: { hostNames: ['localhost', 'tracker.internal'] },
  });
  await mkdir(join(dir, 'open', 'images'), { recursive: true });
  await writeFile(join(dir, 'open', 'images', 'a.png'), await makeImage('png', 8, 8, 3, 1));
  open = startTestTracker(join(dir, 'open'), { token: TOKEN, tracker: { publicRead: true } });
  for (const t of [tracker, open]) {
    assert.equal((await t.call('POST', '/api/runs', { run: 'r1' })).status, 200);
    assert.equal((await t.call('POST', '/projects', { id: 'p' })).status, 201);
    assert.equal((await t.call('POST', '/projects/p/images', { images: [{ key: 'a.png' }] })).status, 200);
  }
});
after(async () => {
  await tracker?.close();
  await open?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The Set-Cookie that starts the session (the others clear cookies of earlier versions). */
const sessionCookie = (r: Response) => r.headers.getSetCookie().find((c) => c.startsWith('pw_session='))!;

const get = (t: TestTracker, path: string, headers: Record<string, string> = {}, host = 'localhost') =>
  t.app.request(`http://${host}${path}`, { headers });

test('every read without a credential is 401; with the token it is answered', async () => {
  for (const path of READS) {
    const r = await get(tracker, path);
    assert.equal(r.status, 401, `${path} without a credential`);
    assert.match(((await r.json()) as { error: string }).error, /reads need a credential/);
    assert.equal((await get(tracker, path, { authorization: `Bearer wrong` })).status, 401, path);
    const ok = await get(tracker, path, { authorization: `bearer ${TOKEN}` });
    assert.ok(ok.status < 400, `${path} with the token: ${ok.status}`);
  }
});

test('a link with the token starts a session that reads every page, and the token leaves the address', async () => {
  const login = await get(tracker, `/runs?token=${TOKEN}`);
  assert.equal(login.status, 303);
  assert.equal(login.headers.get('location'), '/runs');
  const setCookie = sessionCookie(login);
  assert.match(setCookie, /Path=\//);
  assert.ok(!setCookie.includes(TOKEN));
  const cookie = setCookie.split(';')[0]!;
  for (const path of READS) assert.ok((await get(tracker, path, { cookie })).status < 400, path);
  assert.equal((await get(tracker, `/runs?token=wrong`)).status, 401);
  assert.equal((await get(tracker, `/projects/p/label?token=${TOKEN}&labeler=bad%20name`)).status, 400);
  // The session reads; it does not write the ingest API.
  assert.equal(
    (await tracker.call('POST', '/api/runs', { run: 'x' }, { authorization: '', cookie })).status,
    401,
  );
});

test('/health answers anyone and shows no paths', async () => {
  const r = await get(tracker, '/health');
  assert.equal(r.status, 200);
  const body = await r.text();
  assert.deepEqual(JSON.parse(body), { ok: true, service: 'patchwork-tracker' });
  assert.ok(!body.includes(dir));
});

test('PATCHWORK_PUBLIC_READ opens reads, not writes', async () => {
  for (const path of READS) assert.ok((await get(open, path)).status < 400, path);
  assert.equal((await open.call('POST', '/api/runs', { run: 'y' }, { authorization: '' })).status, 401);
  assert.equal(
    (await open.call('POST', '/projects/p/classes', { name: 'c' }, { authorization: '' })).status,
    401,
  );
});

test('a Host that is not a name of the tracker is refused unless the token is sent', async () => {
  const login = await get(tracker, `/runs?token=${TOKEN}`);
  const cookie = sessionCookie(login).split(';')[0]!;
  assert.equal((await get(tracker, '/api/runs', { cookie }, 'tracker.internal:8787')).status, 200);
  const rebound = await get(tracker, '/api/runs', { cookie }, 'attacker.example');
  assert.equal(rebound.status, 403);
  assert.match(((await rebound.json()) as { error: string }).error, /PATCHWORK_TRACKER_HOSTS/);
  assert.equal(
    (await get(tracker, '/api/runs', { authorization: `Bearer ${TOKEN}` }, 'attacker.example')).status,
    200,
  );
  assert.deepEqual(trackerHostNames('http://tracker.internal:8787', '0.0.0.0', 'a.example, B.example'), [
    'localhost',
    '127.0.0.1',
    '::1',
    'tracker.internal',
    'a.example',
    'b.example',
  ]);
});

test('responses forbid sniffing and framing and carry a content security policy', async () => {
  for (const path of ['/runs', '/projects/p/label', '/api/runs', '/health', '/projects/p/images/a.png']) {
    const r = await get(tracker, path, { authorization: `Bearer ${TOKEN}` });
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
    assert.equal(r.headers.get('x-frame-options'), 'DENY', path);
    assert.match(r.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, path);
  }
});
