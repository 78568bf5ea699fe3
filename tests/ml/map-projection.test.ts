import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../ml/backend.ts';
import { projectForMap } from '../../ml/active/map-projection.ts';
import { Rng } from '../../ml/rng.ts';
import { gaussianBlobs } from './cluster-fixtures.ts';

before(async () => {
  await initBackend({ purpose: 'infer' });
});

/** Share of points whose nearest other point on the map belongs to the same blob. */
function neighbourAgreement(points: Float32Array, labels: Int32Array): number {
  const n = labels.length;
  let same = 0;
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const d = (points[2 * i]! - points[2 * j]!) ** 2 + (points[2 * i + 1]! - points[2 * j + 1]!) ** 2;
      if (d < bestD) {
        bestD = d;
        best = j;
      }
    }
    if (labels[best] === labels[i]) same++;
  }
  return same / n;
}

for (const method of ['umap', 'pca'] as const) {
  test(`${method}: separated classes stay apart on the map, inside [-1, 1], the same for the same seed`, () => {
    const blobs = gaussianBlobs(Rng.fromSeed(2), 4, 60, 24, 6);
    const map = projectForMap(blobs.data, blobs.n, blobs.d, { method, seed: 5, nEpochs: 100 });
    assert.equal(map.method, method);
    assert.equal(map.points.length, blobs.n * 2);
    assert.ok(map.points.every((v) => v >= -1 - 1e-6 && v <= 1 + 1e-6 && Number.isFinite(v)));
    assert.ok(neighbourAgreement(map.points, blobs.labels) > 0.95);
    assert.deepEqual(projectForMap(blobs.data, blobs.n, blobs.d, { method, seed: 5, nEpochs: 100 }).points, map.points);
  });
}

test('auto picks UMAP up to umapMaxRows and PCA above; a size mismatch names both sizes', () => {
  const blobs = gaussianBlobs(Rng.fromSeed(3), 2, 30, 8, 6);
  assert.equal(projectForMap(blobs.data, blobs.n, blobs.d, { seed: 1, nEpochs: 20 }).method, 'umap');
  assert.equal(projectForMap(blobs.data, blobs.n, blobs.d, { seed: 1, umapMaxRows: 50 }).method, 'pca');
  assert.throws(() => projectForMap(blobs.data, blobs.n + 1, blobs.d, { seed: 1 }), /not rows x dim = 61 x 8/);
});
