import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffRounds, type RoundSnapshot } from '../../ml/active/round-diff.ts';
import { parseExport } from '../../ml/active/table.ts';

const keys = ['a.png', 'b.png', 'c.png', 'd.png'];

function snapshot(round: number, csv: string, probs: number[][], queue: string[]): RoundSnapshot {
  return {
    round,
    labels: parseExport(csv),
    probs: { keys, classes: ['cat', 'dog'], values: Float32Array.from(probs.flat()) },
    queue,
  };
}

const header = 'filepath,exclude,validation,cat,dog';
const a = snapshot(
  1,
  `${header}\na.png,0,0,1,\nb.png,0,0,0,\nc.png,0,0,,\nd.png,0,0,,\n`,
  [[0.9, 0.5], [0.2, 0.5], [0.6, 0.5], [0.4, 0.5]],
  ['c.png', 'd.png'],
);
const b = snapshot(
  2,
  `${header}\na.png,0,0,1,1\nb.png,0,0,0,0\nc.png,0,0,0,1\nd.png,0,0,1,\n`,
  [[0.95, 0.6], [0.1, 0.2], [0.1, 0.9], [0.75, 0.5]],
  ['d.png', 'b.png', 'a.png'],
);

test('diffRounds counts labels added per class and lists every changed cell, as counted by hand', () => {
  const diff = diffRounds(a, b);
  assert.deepEqual(diff.labelsAdded, { cat: 2, dog: 3 });
  assert.deepEqual(
    diff.labelChanges.map((c) => `${c.key}:${c.className}:${c.from}->${c.to}`),
    ['a.png:dog:-1->1', 'b.png:dog:-1->0', 'c.png:cat:-1->0', 'c.png:dog:-1->1', 'd.png:cat:-1->1'],
  );
});

test('both rounds are scored on the later labels; the queue and the biggest moves as counted by hand', () => {
  const diff = diffRounds(a, b, { moves: 3 });
  // cat on round 2's labels: positives a, d; negatives b, c. Round 1: a .9, d .4 vs b .2, c .6 -> 3 of 4 pairs.
  assert.equal(diff.auc.cat!.from, 0.75);
  assert.equal(diff.auc.cat!.to, 1);
  // dog: positives a, c; negative b. Round 1 predicted 0.5 everywhere (ties count half).
  assert.equal(diff.auc.dog!.from, 0.5);
  assert.equal(diff.auc.dog!.to, 1);
  assert.deepEqual(diff.queue, { size: 3, new: 2, kept: 1 });
  assert.deepEqual(
    diff.biggestMoves.map((m) => [m.key, m.className, Math.round(100 * (m.to - m.from)) / 100]),
    [['c.png', 'cat', -0.5], ['c.png', 'dog', 0.4], ['d.png', 'cat', 0.35]],
  );
});
