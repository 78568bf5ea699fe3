// k-means speed: ours (ml/cluster on the active tfjs backend) against scikit-learn and faiss-cpu on the same data,
// measured in the same run, each the median of --repeat runs. Every contender's time includes the labels of every row
// (DeepCluster's pseudo-labels): scikit-learn's fit computes them, faiss needs index.search after train, as
// DeepCluster's own faiss code does. Usage: npm run bench:kmeans [-- --n 60000 --d 256 --k 250 --iters 20 --repeat 3]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../../ml/backend.ts';
import { KMeans } from '../../ml/cluster/index.ts';
import { sampleRows } from '../../ml/cluster/kmeans.ts';
import { Rng } from '../../ml/rng.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '60000' },
    d: { type: 'string', default: '256' },
    k: { type: 'string', default: '250' },
    iters: { type: 'string', default: '20' },
    repeat: { type: 'string', default: '3' },
  },
});
const [n, d, k, iters, repeat] = [values.n, values.d, values.k, values.iters, values.repeat].map(Number) as [number, number, number, number, number];
const python = join(import.meta.dirname, '..', '..', '.tools', 'venv', 'bin', 'python');

// Rows with no cluster structure (normal, L2-normalised, as DeepCluster's k-means input is): Lloyd does not converge
// within 20 iterations, so every implementation runs all of them.
const rng = Rng.fromSeed(2024);
const data = new Float32Array(n * d);
for (let i = 0; i < n; i++) {
  let norm = 0;
  for (let j = 0; j < d; j++) {
    const v = rng.normal();
    data[i * d + j] = v;
    norm += v * v;
  }
  norm = Math.sqrt(norm);
  for (let j = 0; j < d; j++) data[i * d + j]! /= norm;
}

const { tf, name } = await initBackend({ purpose: 'train' });
const x = tf.tensor2d(data, [n, d]);
KMeans.fit(tf.slice(x, [0, 0], [2000, d]), { k: 20, nInit: 1, maxIter: 2, tol: 0 }, Rng.fromSeed(1)); // warm-up
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
function timed<T>(run: () => T): { result: T; seconds: number } {
  const times: number[] = [];
  let result: T | undefined;
  for (let r = 0; r < repeat; r++) {
    const t = performance.now();
    result = run();
    times.push((performance.now() - t) / 1000);
  }
  return { result: result!, seconds: median(times) };
}
const { result: ours, seconds: oursSeconds } = timed(() => KMeans.fit(x, { k, nInit: 1, maxIter: iters, tol: 0 }, Rng.fromSeed(1)));
// faiss seeds with k random rows instead of k-means++: the same start for ours times the Lloyd iterations alone.
const randomRows = sampleRows(n, k, Rng.fromSeed(1));
const init = new Float32Array(k * d);
randomRows.forEach((row, c) => init.set(data.subarray(row * d, (row + 1) * d), c * d));
const { result: oursRandom, seconds: oursRandomSeconds } = timed(() =>
  KMeans.fit(x, { k, nInit: 1, maxIter: iters, tol: 0, init }, Rng.fromSeed(1)),
);

const dir = mkdtempSync(join(tmpdir(), 'patchwork-bench-kmeans-'));
let peers: Record<string, { seconds: number; trainSeconds?: number; inertia: number; iterations: number } | { error: string }> = {};
try {
  writeFileSync(join(dir, 'x.f32'), data);
  const script = String.raw`
import json, sys, time, numpy as np
n, d, k, iters, repeat = map(int, sys.argv[2:7])
X = np.fromfile(sys.argv[1], dtype=np.float32).reshape(n, d)
out = {}
def median(xs):
    return sorted(xs)[len(xs) // 2]
try:
    from sklearn.cluster import KMeans
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        km = KMeans(n_clusters=k, init="k-means++", n_init=1, max_iter=iters, tol=0, algorithm="lloyd", random_state=1).fit(X)
        times.append(time.perf_counter() - t)
    out["scikit-learn"] = {"seconds": median(times), "inertia": float(km.inertia_), "iterations": int(km.n_iter_)}
except Exception as e:
    out["scikit-learn"] = {"error": repr(e)}
try:
    import faiss
    times, train_times = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        fk = faiss.Kmeans(d, k, niter=iters, seed=1, verbose=False)
        fk.train(X)
        train_times.append(time.perf_counter() - t)
        dist, labels = fk.index.search(X, 1)
        times.append(time.perf_counter() - t)
    out["faiss-cpu"] = {"seconds": median(times), "trainSeconds": median(train_times), "inertia": float(dist.sum()), "iterations": iters}
except Exception as e:
    out["faiss-cpu"] = {"error": repr(e)}
print(json.dumps(out))
`;
  const stdout = execFileSync(python, ['-c', script, join(dir, 'x.f32'), String(n), String(d), String(k), String(iters), String(repeat)], {
    encoding: 'utf8',
  });
  peers = JSON.parse(stdout.trim().split('\n').pop()!);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`k-means ${n} x ${d}, k=${k}, ${iters} iterations (1 init), median of ${repeat} runs, labels included; ours on tfjs backend '${name}'; load average ${loadavg()[0]!.toFixed(1)}`);
console.log(`  ours          ${oursSeconds.toFixed(2)} s  inertia ${ours.inertia.toFixed(1)}  iterations ${ours.iterations}  (k-means++ init)`);
console.log(`  ours, random  ${oursRandomSeconds.toFixed(2)} s  inertia ${oursRandom.inertia.toFixed(1)}  iterations ${oursRandom.iterations}  (k random rows, as faiss)`);
for (const [peer, r] of Object.entries(peers)) {
  if ('error' in r) {
    console.log(`  ${peer.padEnd(13)} unavailable: ${r.error} (install it into .tools/venv to compare)`);
    continue;
  }
  console.log(
    `  ${peer.padEnd(13)} ${r.seconds.toFixed(2)} s${r.trainSeconds === undefined ? '' : ` (train ${r.trainSeconds.toFixed(2)} s + labels)`}  inertia ${r.inertia.toFixed(1)}  iterations ${r.iterations}` +
      `  -> ours/${peer} time ratio ${(oursSeconds / r.seconds).toFixed(2)} (random init ${(oursRandomSeconds / r.seconds).toFixed(2)}),` +
      ` inertia ratio ${(ours.inertia / r.inertia).toFixed(4)}`,
  );
}
