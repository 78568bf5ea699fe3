// patchwork label diff reads two stored rounds of a project and prints what changed, as counted by hand.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStorage } from '../storage/index.ts';
import { savePredictions, saveQueue, saveRoundLabels } from '../storage/rounds.ts';
import { runCli } from './helpers/cli.ts';

let dir: string;
const env = () => ({ ...process.env, PATCHWORK_HOME: join(dir, 'home'), PATCHWORK_STORE: join(dir, 'store') });
const keys = ['a.png', 'b.png', 'c.png'];
const header = 'filepath,exclude,validation,cat,dog';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'patchwork-diff-'));
  const store = openStorage(join(dir, 'store'));
  const run = 'label-pets';
  await saveRoundLabels(store, run, 1, `${header}\na.png,0,0,1,\nb.png,0,0,,\nc.png,0,0,,\n`, ['cat', 'dog']);
  await savePredictions(store, run, 1, { keys, classes: ['cat', 'dog'], probs: Float32Array.from([0.9, 0.5, 0.5, 0.5, 0.2, 0.5]) });
  await saveQueue(store, run, { round: 1, sort: 'random', keys: ['b.png', 'c.png'] });
  await saveRoundLabels(store, run, 2, `${header}\na.png,0,0,1,0\nb.png,0,0,0,1\nc.png,0,0,,\n`, ['cat', 'dog']);
  await savePredictions(store, run, 2, { keys, classes: ['cat', 'dog'], probs: Float32Array.from([0.95, 0.1, 0.1, 0.9, 0.3, 0.5]) });
  await saveQueue(store, run, { round: 2, sort: 'random', keys: ['c.png'] });
});
after(async () => rm(dir, { recursive: true, force: true }));

test('label diff prints labels added, both AUCs, queue turnover and the biggest moves', async () => {
  const r = await runCli(['label', 'diff', 'pets', '--rounds', '1', '2', '--json'], { env: env(), cwd: dir });
  assert.equal(r.code, 0, r.err);
  const diff = JSON.parse(r.out);
  assert.deepEqual(diff.labelsAdded, { cat: 1, dog: 2 });
  assert.deepEqual(diff.auc.cat, { from: 1, to: 1 });
  assert.deepEqual(diff.queue, { size: 1, new: 0, kept: 1 });
  // a:dog, b:cat and b:dog each moved by 0.4; the next is c:cat by 0.1.
  const top = diff.biggestMoves.slice(0, 3).map((m: { key: string; className: string }) => `${m.key}:${m.className}`);
  assert.deepEqual(top.sort(), ['a.png:dog', 'b.png:cat', 'b.png:dog']);
  assert.equal(`${diff.biggestMoves[3].key}:${diff.biggestMoves[3].className}`, 'c.png:cat');
  const text = await runCli(['label', 'diff', 'pets', '--rounds', '1', '2'], { env: env(), cwd: dir });
  assert.match(text.out, /labels added: 3/);
  assert.match(text.out, /queue: 1 images, 0 new, 1 also in round 1's queue/);
});

test('a round that is not stored is a CLI error naming the project and round', async () => {
  const r = await runCli(['label', 'diff', 'pets', '--rounds', '1', '7'], { env: env(), cwd: dir });
  assert.notEqual(r.code, 0);
  assert.match(r.err, /project pets has no complete round 7 in the store/);
  const bad = await runCli(['label', 'diff', 'pets', '--rounds', '1'], { env: env(), cwd: dir });
  assert.match(bad.err, /--rounds takes two round numbers/);
});
