import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../ml/backend.ts';
import { parseProbeLabels } from '../../ml/eval/probe-labels.ts';
import { multiLabelProbe } from '../../ml/eval/multilabel-probe.ts';

before(async () => {
  await initBackend({ purpose: 'train', allowCpuTraining: true });
});

const files = ['a/1.png', 'a/2.png', 'b/3.png', 'b/4.png', 'c/5.png'];

test('filepath,label files: single-label, keys relative to the source or absolute inside it', () => {
  const csv = 'filepath,label\na/1.png,cat\n/data/imgs/a/2.png,cat\nb/3.png,dog\nelsewhere/9.png,dog\n';
  assert.deepEqual(parseProbeLabels(csv, files, 'l.csv', '/data/imgs'), {
    kind: 'single',
    labels: { 'a/1.png': 'cat', 'a/2.png': 'cat', 'b/3.png': 'dog' },
  });
});

test("the original's DataFrame layout: one-hot rows are single-label, others multi-label with unknowns; exclude drops rows", () => {
  const oneHot = 'filepath,cat,dog\na/1.png,1,0\na/2.png,1.0,0.0\nb/3.png,0,1\n';
  assert.deepEqual(parseProbeLabels(oneHot, files, 'l.csv'), { kind: 'single', labels: { 'a/1.png': 'cat', 'a/2.png': 'cat', 'b/3.png': 'dog' } });
  const multi = 'filepath,exclude,validation,cat,dog\na/1.png,0,0,1,1\na/2.png,0,0,1,\nb/3.png,0,1,0,1\nb/4.png,1,0,1,0\ns3://bucket/p/c/5.png,0,0,,0\n';
  assert.deepEqual(parseProbeLabels(multi, files, 'l.csv', 's3://bucket/p'), {
    kind: 'multi',
    classes: ['cat', 'dog'],
    labels: { 'a/1.png': [1, 1], 'a/2.png': [1, -1], 'b/3.png': [0, 1], 'c/5.png': [-1, 0] },
  });
});

test('bad label files name the file, the cell and how filepaths must look', () => {
  assert.throws(() => parseProbeLabels('path,label\nx,1\n', files, 'l.csv'), /labels l\.csv needs a filepath column/);
  assert.throws(() => parseProbeLabels('filepath,cat\na/1.png,yes\n', files, 'l.csv'), /row 2, column cat: "yes" is not 1, 0 or empty/);
  assert.throws(() => parseProbeLabels('filepath,label\nx/1.png,cat\n', files, 'l.csv', '/data'), /only 0 of its filepaths .* relative to the image source \(\/data\)/);
});

test('the multi-label probe scores each class by AUC on held-out rows', () => {
  // Class 0 follows feature 0, class 1 follows feature 1; 30 training rows, 12 held out.
  const make = (n: number, offset: number) => {
    const features = new Float32Array(n * 2);
    const labels = new Int8Array(n * 2);
    for (let i = 0; i < n; i++) {
      const a = (i + offset) % 2;
      const b = Math.floor((i + offset) / 2) % 2;
      features[2 * i] = a * 2 - 1 + 0.1 * Math.sin(i);
      features[2 * i + 1] = b * 2 - 1 + 0.1 * Math.cos(i);
      labels[2 * i] = a;
      labels[2 * i + 1] = b;
    }
    return { features, labels };
  };
  const result = multiLabelProbe(make(30, 0), make(12, 1), ['a', 'b'], 3);
  assert.deepEqual(result.auc, [1, 1]);
  assert.equal(result.meanAuc, 1);
});
