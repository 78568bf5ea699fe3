// Open runs survive upgrades: histories recorded with earlier releases' workflow code (scripts/record-histories.ts,
// tests/fixtures/histories/) replay on the current code without a nondeterminism error. A change that would strand an
// open run fails here; make it with patched() / deprecatePatch() instead (README, "Upgrading with open runs").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import proto from '@temporalio/proto';
const { temporal } = proto;
import { Worker } from '@temporalio/worker';
import { repoRoot } from './helpers/paths.ts';

const dir = join(repoRoot, 'tests', 'fixtures', 'histories');

test('recorded histories of earlier workflow code replay on the current code', async () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.history.pb'));
  assert.ok(files.length > 0, `no recorded histories in ${dir}`);
  const histories = files.map((f) => ({
    workflowId: f.replace(/\.history\.pb$/, ''),
    history: temporal.api.history.v1.History.decode(readFileSync(join(dir, f))),
  }));
  const failures: string[] = [];
  let replayed = 0;
  for await (const result of Worker.runReplayHistories(
    { workflowsPath: join(repoRoot, 'workflows', 'index.ts'), replayName: 'patchwork-replay' },
    histories,
  )) {
    replayed++;
    if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
  }
  assert.equal(replayed, files.length);
  assert.deepEqual(failures, []);
});
