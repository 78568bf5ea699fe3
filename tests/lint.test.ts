import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boundaryBreaches, findCycles, RULES } from '../scripts/lint.ts';

test('findCycles reports a loop once with its path, and nothing for a tree', () => {
  assert.deepEqual(findCycles({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': [] }), []);
  assert.deepEqual(findCycles({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': ['a.ts', 'zod'] }), [
    ['a.ts', 'b.ts', 'c.ts', 'a.ts'],
  ]);
});

test('the CLI may not reach tracker server code, even through another file', () => {
  const graph = {
    'cli/main.ts': ['cli/commands/x.ts'],
    'cli/commands/x.ts': ['contracts/y.ts'],
    'contracts/y.ts': ['tracker/labels/store.ts'],
    'tracker/labels/store.ts': ['better-sqlite3'],
  };
  const breaches = boundaryBreaches(graph, RULES);
  assert.ok(
    breaches.some((b) => b.startsWith('cli/main.ts -> cli/commands/x.ts -> contracts/y.ts -> tracker/labels/store.ts')),
    breaches.join('\n'),
  );
  assert.deepEqual(boundaryBreaches({ 'cli/main.ts': ['tracker-client/client.ts'], 'tracker-client/client.ts': [] }, RULES), []);
});

test('ml/ may not import Temporal, storage or HTTP; workflows/ only the workflow API and contracts', () => {
  assert.equal(boundaryBreaches({ 'ml/x.ts': ['@tensorflow/tfjs-core', 'ml/y.ts'], 'ml/y.ts': [] }, RULES).length, 0);
  assert.equal(boundaryBreaches({ 'ml/x.ts': ['storage/s3.ts'], 'storage/s3.ts': [] }, RULES).length, 1);
  assert.equal(boundaryBreaches({ 'ml/x.ts': ['@temporalio/activity'] }, RULES).length, 1);
  assert.equal(boundaryBreaches({ 'workflows/x.ts': ['@temporalio/workflow', 'contracts/pretrain.ts'] }, RULES).length, 0);
  assert.equal(boundaryBreaches({ 'workflows/x.ts': ['node:fs'] }, RULES).length, 1);
});
