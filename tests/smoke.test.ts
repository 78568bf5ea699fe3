import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from './helpers/net.ts';

test('freePort returns a usable port', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
});
