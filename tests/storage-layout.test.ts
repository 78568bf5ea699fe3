// The store's keys are read back by later workers, older runs and the tracker: each builder's output is pinned here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as layout from '../storage/layout.ts';

test('every key builder gives the keys earlier releases wrote', () => {
  const run = 'label-fashion';
  assert.equal(layout.manifestPartKey(run, 7), 'runs/label-fashion/manifest/part-000007.jsonl');
  assert.equal(layout.manifestIndexKey(run), 'runs/label-fashion/manifest/index.json');
  assert.equal(layout.specKey(run), 'runs/label-fashion/spec.json');
  assert.equal(layout.filesKey(run), 'runs/label-fashion/files.txt');
  assert.equal(layout.testFilesKey(run), 'runs/label-fashion/test-files.txt');
  assert.equal(layout.checkpointPrefix(run), 'runs/label-fashion/ckpt');
  assert.equal(layout.pseudoLabelsKey(run, 12), 'runs/label-fashion/pseudo/epoch-00012.json');
  assert.equal(layout.modelKey(run), 'runs/label-fashion/model/model.json');
  assert.equal(layout.modelWeightsKey(run), 'runs/label-fashion/model/weights.bin');
  assert.equal(layout.sourceKeysKey(run), 'runs/label-fashion/embed/source-keys.txt');
  assert.equal(layout.pendingKey(run), 'runs/label-fashion/embed/pending.txt');
  assert.equal(layout.embeddingsPrefix('ab12'), 'embeddings/ab12');
  assert.equal(layout.partVectorsKey('ab12', 3), 'embeddings/ab12/part-00003.f32');
  assert.equal(layout.partKeysKey('ab12', 3), 'embeddings/ab12/part-00003.keys.json');
  assert.equal(layout.modelInfoKey('ab12'), 'embeddings/ab12/model.json');
  assert.equal(layout.roundLabelsKey(run, 4), 'runs/label-fashion/rounds/00004/labels.csv');
  assert.equal(layout.roundClassesKey(run, 4), 'runs/label-fashion/rounds/00004/classes.json');
  assert.equal(layout.roundHeadKey(run, 4), 'runs/label-fashion/rounds/00004/head.json');
  assert.equal(layout.roundLossesKey(run, 4), 'runs/label-fashion/rounds/00004/losses.json');
  assert.equal(layout.roundProbsKey(run, 4), 'runs/label-fashion/rounds/00004/probs.f32');
  assert.equal(layout.roundKeysKey(run, 4), 'runs/label-fashion/rounds/00004/keys.json');
  assert.equal(layout.queueKey(run, 4), 'runs/label-fashion/rounds/00004/queue.json');
  assert.equal(layout.latestQueueKey(run), 'runs/label-fashion/queue.json');
});

test('a part keys file is recognised by its name, with its number', () => {
  assert.equal(layout.PART_KEYS_FILE.exec(layout.partKeysKey('ab12', 42))?.[1], '00042');
  assert.equal(layout.PART_KEYS_FILE.exec(layout.partVectorsKey('ab12', 42)), null);
  assert.equal(layout.PART_KEYS_FILE.exec(layout.modelInfoKey('ab12')), null);
});
