// The labeler link sets a signed, expiring session cookie instead of the token: it lets that browser write labels as
// its labeler, and nothing else. The bearer scheme is parsed the same way on every route.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionSigner } from '../../../tracker/labels/session.ts';
import { startTestTracker, type TestTracker } from '../helpers.ts';

const TOKEN = 'session-test-token';
let dir: string;
let tracker: TestTracker;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labels-session-'));
  tracker = startTestTracker(dir, { token: TOKEN });
  assert.equal((await tracker.call('POST', '/projects', { id: 'p' })).status, 201);
  assert.equal(
    (await tracker.call('POST', '/projects/p/images', { images: [{ key: 'a.png' }] })).status,
    200,
  );
  assert.ok((await tracker.call('POST', '/projects/p/classes', { name: 'cat' })).status < 300);
});
after(async () => {
  await tracker?.close();
  await rm(dir, { recursive: true, force: true });
});

const label = (headers: Record<string, string>, value = '1') =>
  tracker.app.request('/projects/p/labels', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ key: 'a.png', class: 'cat', value }).toString(),
  });
const lastActor = () => tracker.store.historyEntries('p', { limit: 1 })[0]?.actor;

test('the labeler link sets a signed session, not the token, and it writes as that labeler', async () => {
  const login = await tracker.app.request('/projects/p/label?token=' + TOKEN + '&labeler=alice');
  assert.equal(login.status, 303);
  assert.equal(login.headers.get('location'), '/projects/p/label');
  const setCookie = login.headers.getSetCookie().find((c) => c.startsWith('pw_session='))!;
  assert.ok(setCookie, 'a session cookie');
  assert.ok(!setCookie.includes(TOKEN), 'the cookie does not hold the token');
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  assert.match(setCookie, /Max-Age=43200/);
  const cookie = setCookie.split(';')[0]!;

  const r = await label({ cookie, 'hx-request': 'true' });
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal(lastActor(), 'alice');
  assert.equal(
    (await label({ cookie })).status,
    401,
    'without the htmx header (a cross-site form) the cookie is not enough',
  );

  // A leaked cookie is not a token: not as a bearer on the label store, nor on the ingest API.
  const leaked = decodeURIComponent(cookie.slice('pw_session='.length));
  assert.equal((await label({ authorization: `Bearer ${leaked}` })).status, 401);
  assert.equal(
    (await tracker.call('POST', '/api/runs', { run: 'x' }, { authorization: `Bearer ${leaked}` })).status,
    401,
  );
});

test('expired, forged, foreign-key and token-holding cookies are refused', async () => {
  const signer = new SessionSigner(TOKEN);
  const expired = signer.sign({ labeler: 'bob', expiresAt: Date.now() - 1 });
  const valid = signer.sign({ labeler: 'bob', expiresAt: Date.now() + 60_000 });
  const forged = valid.replace(/^bob~/, 'eve~');
  const foreign = new SessionSigner('another-token').sign({ labeler: 'bob', expiresAt: Date.now() + 60_000 });
  const before = tracker.store.historyEntries('p', { limit: 1000 }).length;
  for (const value of [expired, forged, foreign, TOKEN, '', 'bob~9999999999999~x']) {
    const r = await label({ cookie: `pw_session=${encodeURIComponent(value)}`, 'hx-request': 'true' }, '0');
    assert.equal(r.status, 401, value);
  }
  const oldStyle = await label({ cookie: `pw_labels_token=${TOKEN}`, 'hx-request': 'true' }, '0');
  assert.equal(oldStyle.status, 401, 'the cookie that held the token no longer authorises anything');
  assert.equal(tracker.store.historyEntries('p', { limit: 1000 }).length, before, 'nothing written');
  const ok = await label({ cookie: `pw_session=${encodeURIComponent(valid)}`, 'hx-request': 'true' }, '0');
  assert.equal(ok.status, 200);
  assert.equal(lastActor(), 'bob');
});

test('the bearer scheme is case-insensitive on every route', async () => {
  for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
    const auth = { authorization: `${scheme} ${TOKEN}` };
    assert.equal(
      (await tracker.call('POST', '/api/runs', { run: `run-${scheme}` }, auth)).status,
      200,
      `/api/runs ${scheme}`,
    );
    assert.equal((await label(auth, scheme === 'bearer' ? '1' : '0')).status, 200, `/projects ${scheme}`);
  }
  for (const bad of [`Basic ${TOKEN}`, `Bearer${TOKEN}`, `Bearer ${TOKEN} extra`, TOKEN]) {
    assert.equal(
      (await tracker.call('POST', '/api/runs', { run: 'nope' }, { authorization: bad })).status,
      401,
      bad,
    );
    assert.equal((await label({ authorization: bad })).status, 401, bad);
  }
});
