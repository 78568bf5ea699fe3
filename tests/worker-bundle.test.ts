import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { bundleSources } from '../worker/bundle.ts';
import { repoRoot } from './helpers/paths.ts';

test('the workflow bundle cache key covers the contracts and store layout the workflows import, not activities', async () => {
  const files = (await bundleSources()).map((f) => relative(repoRoot, f));
  for (const expected of ['workflows/index.ts', 'workflows/pretrain.ts', 'contracts/pretrain.ts', 'contracts/active-learning.ts', 'storage/layout.ts', 'ml/methods/names.ts']) {
    assert.ok(files.includes(expected), `${expected} in ${files.join(', ')}`);
  }
  assert.ok(!files.some((f) => f.startsWith('activities/')), 'type-only imports of activities do not reach the bundle');
});
