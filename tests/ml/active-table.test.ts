// ml/active/table: the label store's CSV export as a label table, restricted to the classes in training, counted, and
// aligned with stored embeddings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignWithFeatures, keepClasses, labelCounts, parseExport } from '../../ml/active/table.ts';

const csv = [
  'filepath,exclude,validation,cat,dog,old',
  'a.png,,,1,0,1',
  'b.png,true,,0,,',
  'c.png,,1,,1,0',
  'd.png,,,0,,',
].join('\n');

test('parseExport reads flags and 0/1 cells (anything else is unknown) in export order', () => {
  const { keys, table } = parseExport(csv);
  assert.deepEqual(keys, ['a.png', 'b.png', 'c.png', 'd.png']);
  assert.deepEqual(table.classes, ['cat', 'dog', 'old']);
  assert.deepEqual(Array.from(table.labels), [1, 0, 1, 0, -1, -1, -1, 1, 0, 0, -1, -1]);
  assert.deepEqual(Array.from(table.exclude), [0, 1, 0, 0]);
  assert.deepEqual(Array.from(table.validation), [0, 0, 1, 0]);
  assert.throws(() => parseExport(''), /label export is empty/);
});

test('keepClasses keeps the named columns in their order and names a missing one', () => {
  const kept = keepClasses(parseExport(csv), ['dog', 'cat']);
  assert.deepEqual(kept.table.classes, ['dog', 'cat']);
  assert.deepEqual(Array.from(kept.table.labels), [0, 1, -1, 0, 1, -1, -1, 0]);
  assert.throws(
    () => keepClasses(parseExport(csv), ['bird']),
    /class "bird" is not in the label export \(columns: cat, dog, old\)/,
  );
});

test('labelCounts counts set cells; only training rows make a table trainable', () => {
  const { table } = keepClasses(parseExport(csv), ['dog']);
  // dog: a=0 (train), c=1 (validation): no training 1.
  assert.deepEqual(labelCounts(table), { labelled: 2, trainable: false });
  assert.deepEqual(labelCounts(parseExport(csv).table), { labelled: 7, trainable: true });
});

test('alignWithFeatures keeps the rows that have features, with their feature rows', () => {
  const labels = parseExport(csv);
  const aligned = alignWithFeatures(labels, {
    dim: 2,
    keys: ['d.png', 'a.png'],
    data: new Float32Array([4, 4, 1, 1]),
  });
  assert.deepEqual(aligned.keys, ['a.png', 'd.png']);
  assert.deepEqual(Array.from(aligned.features), [1, 1, 4, 4]);
  assert.deepEqual(Array.from(aligned.table.labels), [1, 0, 1, 0, -1, -1]);
  assert.equal(aligned.missing, 2);
});
