import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { activeTf, initBackend } from '../../ml/backend.ts';
import {
  assignFeatures,
  clusterFeatures,
  eigenJacobi,
  KMeans,
  l2NormalizeRows,
  normalizedMutualInformation,
  Pca,
  StandardScaler,
  symmetricEigen,
} from '../../ml/cluster/index.ts';
import { Rng } from '../../ml/rng.ts';
import { gaussianBlobs, runSklearn } from './cluster-fixtures.ts';

before(async () => {
  await initBackend({ purpose: 'train' });
});

/** A random rotation: product of Givens rotations by random angles over every pair of axes. */
function randomRotation(rng: Rng, d: number): Float64Array {
  const q = new Float64Array(d * d);
  for (let i = 0; i < d; i++) q[i * d + i] = 1;
  for (let p = 0; p < d; p++) {
    for (let r = p + 1; r < d; r++) {
      const a = rng.uniform(0, 2 * Math.PI);
      const [c, s] = [Math.cos(a), Math.sin(a)];
      for (let k = 0; k < d; k++) {
        const qp = q[k * d + p]!;
        const qr = q[k * d + r]!;
        q[k * d + p] = c * qp - s * qr;
        q[k * d + r] = s * qp + c * qr;
      }
    }
  }
  return q; // columns are orthonormal
}

test('NMI: identical up to renaming is 1, independent is ~0, and it matches scikit-learn', () => {
  assert.equal(normalizedMutualInformation([0, 0, 1, 1, 2], [5, 5, 9, 9, 7]), 1);
  assert.equal(normalizedMutualInformation([3, 3, 3], [1, 1, 1]), 1);
  assert.equal(normalizedMutualInformation([0, 0, 1, 1], [0, 0, 0, 0]), 0);
  const rng = Rng.fromSeed(3);
  const a = Int32Array.from({ length: 2000 }, () => rng.integer(0, 7));
  const b = Int32Array.from(a, (v) => (rng.uniform() < 0.6 ? v : rng.integer(0, 5)));
  const ref = runSklearn(
    new Float32Array([...a, ...b]),
    2,
    2000,
    'from sklearn.metrics import normalized_mutual_info_score as nmi\n' +
      'print(json.dumps(nmi(X[0].astype(int), X[1].astype(int), average_method="arithmetic")))',
  );
  assert.ok(Math.abs(normalizedMutualInformation(a, b) - ref) < 1e-9, `ours ${normalizedMutualInformation(a, b)} vs ${ref}`);
  assert.throws(() => normalizedMutualInformation([1], [1, 2]), /differ in length/);
});

test('Jacobi eigendecomposition recovers a matrix built from known eigenpairs', () => {
  const rng = Rng.fromSeed(4);
  const d = 6;
  const q = randomRotation(rng, d);
  const lambda = [10, 5, 3, 2, 0.5, 0.01];
  const m = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) for (let c = 0; c < d; c++) m[i * d + j] += q[i * d + c]! * lambda[c]! * q[j * d + c]!;
  const { values, vectors } = eigenJacobi(m, d);
  for (let c = 0; c < d; c++) {
    assert.ok(Math.abs(values[c]! - lambda[c]!) < 1e-10, `eigenvalue ${c}: ${values[c]}`);
    let dot = 0;
    for (let r = 0; r < d; r++) dot += vectors[c * d + r]! * q[r * d + c]!;
    assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-10, `eigenvector ${c}: |dot| ${dot}`);
  }
  const native = symmetricEigen(m, d); // TensorFlow's SelfAdjointEigV2 on the native backend (float32)
  for (let c = 0; c < d; c++) assert.ok(Math.abs(native.values[c]! - lambda[c]!) < 1e-4 * lambda[0]!);
});

test('PCA on data with a known covariance recovers its variances and axes; whitening gives unit variance', () => {
  const tf = activeTf();
  const rng = Rng.fromSeed(5);
  const d = 5;
  const n = 40_000;
  const lambda = [16, 9, 4, 1, 0.25];
  const q = randomRotation(rng, d);
  const data = new Float32Array(n * d);
  const offset = [3, -2, 0, 1, 7];
  for (let i = 0; i < n; i++) {
    const z = lambda.map((l) => Math.sqrt(l) * rng.normal());
    for (let r = 0; r < d; r++) {
      let v = offset[r]!;
      for (let c = 0; c < d; c++) v += q[r * d + c]! * z[c]!;
      data[i * d + r] = v;
    }
  }
  const x = tf.tensor2d(data, [n, d]);
  const pca = Pca.fit(x, { nComponents: 3, whiten: true });
  const { explainedVariance, components } = pca.toJSON();
  for (let c = 0; c < 3; c++) {
    // The sample variance of a normal has relative standard error sqrt(2/n); allow 6 of them.
    const tolerance = 6 * Math.sqrt(2 / n) * lambda[c]!;
    assert.ok(Math.abs(explainedVariance[c]! - lambda[c]!) < tolerance, `variance ${c}: ${explainedVariance[c]}`);
    const dot = components[c]!.reduce((acc, v, r) => acc + v * q[r * d + c]!, 0);
    assert.ok(Math.abs(dot) > 0.999, `axis ${c}: |dot| ${dot}`);
  }
  const white = pca.transform(x);
  const { mean, variance } = tf.moments(white, 0);
  for (const m of mean.dataSync()) assert.ok(Math.abs(m) < 1e-3);
  for (const v of variance.dataSync()) assert.ok(Math.abs(v * (n / (n - 1)) - 1) < 1e-3, `whitened variance ${v}`);
  assert.throws(() => Pca.fit(x, { nComponents: 6 }), /nComponents must be an integer in 1\.\.min/);
  assert.throws(() => pca.transform(tf.zeros([2, 4]) as any), /expected 5 features/);
  tf.dispose([x, white, mean, variance]);
});

test('StandardScaler and L2 row normalisation match scikit-learn', () => {
  const tf = activeTf();
  const rng = Rng.fromSeed(6);
  const n = 300;
  const d = 4;
  const data = Float32Array.from({ length: n * d }, (_, i) => (i % d === 3 ? 2 : rng.normal(i % d, 1 + (i % d))));
  const x = tf.tensor2d(data, [n, d]);
  const ours = l2NormalizeRows(StandardScaler.fit(x).transform(x));
  const ref = runSklearn(
    data,
    n,
    d,
    'from sklearn.preprocessing import StandardScaler, normalize\n' +
      'print(json.dumps(normalize(StandardScaler().fit_transform(X.astype(np.float64))).ravel().tolist()))',
  );
  const got = ours.dataSync();
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(got[i]! - ref[i]) < 1e-5, `entry ${i}: ${got[i]} vs ${ref[i]}`);
  tf.dispose([x, ours]);
});

test('k-means recovers separated Gaussian blobs exactly (NMI = 1) and predicts new rows the same way', () => {
  const tf = activeTf();
  const rng = Rng.fromSeed(7);
  const blobs = gaussianBlobs(rng, 6, 80, 10, 20);
  const x = tf.tensor2d(blobs.data, [blobs.n, blobs.d]);
  const fit = KMeans.fit(x, { k: 6, nInit: 3 }, rng);
  assert.equal(normalizedMutualInformation(fit.labels, blobs.labels), 1);
  const restored = KMeans.fromJSON(JSON.parse(JSON.stringify(fit.model.toJSON())));
  assert.deepEqual(restored.predict(x), fit.labels);
  x.dispose();
});

test('k-means from the same initial centroids as scikit-learn reaches the same labels and inertia', () => {
  const tf = activeTf();
  const rng = Rng.fromSeed(8);
  const blobs = gaussianBlobs(rng, 12, 150, 16, 3); // overlapping blobs: Lloyd needs many iterations
  const k = 12;
  const init = new Float32Array(k * blobs.d);
  for (let c = 0; c < k; c++) init.set(blobs.data.subarray(c * 7 * blobs.d, (c * 7 + 1) * blobs.d), c * blobs.d);
  const x = tf.tensor2d(blobs.data, [blobs.n, blobs.d]);
  const ours = KMeans.fit(x, { k, init, maxIter: 300, tol: 0 }, rng);
  const ref = runSklearn(
    blobs.data,
    blobs.n,
    blobs.d,
    'from sklearn.cluster import KMeans\n' +
      'init = np.array(extra["init"], dtype=np.float64).reshape(-1, X.shape[1])\n' +
      'km = KMeans(n_clusters=len(init), init=init, n_init=1, max_iter=300, tol=0, algorithm="lloyd").fit(X.astype(np.float64))\n' +
      'print(json.dumps({"labels": km.labels_.tolist(), "inertia": float(km.inertia_), "iters": int(km.n_iter_)}))',
    { init: Array.from(init) },
  );
  assert.equal(ours.emptyClustersRepaired, 0);
  assert.ok(normalizedMutualInformation(ours.labels, ref.labels) > 0.99, 'labels differ from scikit-learn');
  assert.ok(Math.abs(ours.inertia - ref.inertia) / ref.inertia < 1e-3, `inertia ${ours.inertia} vs ${ref.inertia}`);
  x.dispose();
});

test('k-means++ with 10 inits reaches the same optimum as scikit-learn KMeans(n_init=10) on the same data', () => {
  const tf = activeTf();
  const rng = Rng.fromSeed(9);
  const blobs = gaussianBlobs(rng, 20, 100, 32, 4);
  const x = tf.tensor2d(blobs.data, [blobs.n, blobs.d]);
  const ours = KMeans.fit(x, { k: 20, nInit: 10 }, rng);
  const ref = runSklearn(
    blobs.data,
    blobs.n,
    blobs.d,
    'from sklearn.cluster import KMeans\n' +
      'km = KMeans(n_clusters=20, n_init=10, random_state=0).fit(X.astype(np.float64))\n' +
      'print(json.dumps({"labels": km.labels_.tolist(), "inertia": float(km.inertia_)}))',
  );
  // Overlap-free blobs have one optimum; both should find it (a single plain k-means++ run often does not).
  assert.ok(Math.abs(ours.inertia - ref.inertia) / ref.inertia < 1e-3, `ours ${ours.inertia} vs scikit-learn ${ref.inertia}`);
  assert.ok(normalizedMutualInformation(ours.labels, ref.labels) > 0.999);
  x.dispose();
});

test('an empty cluster gets a random row\'s cluster centroid plus small noise, and then wins rows', () => {
  const tf = activeTf();
  const rng = Rng.fromSeed(10);
  const blobs = gaussianBlobs(rng, 2, 200, 2, 50);
  const d = 2;
  const init = new Float32Array(3 * d);
  init.set(blobs.data.subarray(0, d), 0); // a row of blob 0
  init.set(blobs.data.subarray(d, 2 * d), d); // a row of blob 1
  init.set([1e4, 1e4], 2 * d); // far from everything: empty after the first assignment
  const x = tf.tensor2d(blobs.data, [blobs.n, d]);
  const fit = KMeans.fit(x, { k: 3, init, maxIter: 50, emptyClusterNoise: 0.1 }, rng);
  assert.ok(fit.emptyClustersRepaired >= 1);
  const used = new Set(fit.labels);
  assert.equal(used.size, 3, 'the repaired cluster should take over part of a blob');
  const far = fit.model.toJSON().centroids[2]!;
  assert.ok(Math.hypot(far[0]!, far[1]!) < 200, `repaired centroid stayed far away: ${far}`);
  x.dispose();
});

test('clusterFeatures (scale, whitened PCA, L2, k-means) separates blobs and assigns held-out rows consistently', () => {
  const tf = activeTf();
  const rng = Rng.fromSeed(11);
  const blobs = gaussianBlobs(rng, 5, 120, 64, 6);
  const x = tf.tensor2d(blobs.data, [blobs.n, blobs.d]);
  const result = clusterFeatures(x, { pcaDim: 16, k: 5, nInit: 3 }, rng);
  assert.equal(normalizedMutualInformation(result.labels, blobs.labels), 1);
  const again = assignFeatures(x, JSON.parse(JSON.stringify(result.state)));
  assert.deepEqual(again, result.labels);
  x.dispose();
});

test('bad k-means input names the problem', () => {
  const tf = activeTf();
  const x = tf.zeros([4, 2]) as any;
  const rng = Rng.fromSeed(1);
  assert.throws(() => KMeans.fit(x, { k: 5 }, rng), /k must be an integer in 1\.\.rows \(4\)/);
  assert.throws(() => KMeans.fit(tf.zeros([4]) as any, { k: 2 }, rng), /expected a 2-D tensor/);
  assert.throws(() => KMeans.fit(x, { k: 2, init: new Float32Array(3) }, rng), /init must hold k x d = 4/);
  x.dispose();
});
