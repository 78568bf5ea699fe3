// Active learning beats random picks on Fashion-MNIST.
// Features: raw pixels scaled to [0,1], projected by PCA (ml/cluster) to 50 dimensions, fitted on the pool.
// A simulated labeler answers every class of each picked image (one-hot -> all 10 cells known).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { activeTf, initBackend } from '../../ml/backend.ts';
import {
  classMetrics,
  emptyTable,
  Head,
  meanAuc,
  pickIndices,
  type LabelTable,
} from '../../ml/active/index.ts';
import { Pca } from '../../ml/cluster/index.ts';
import { Rng } from '../../ml/rng.ts';
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  readIdxImages,
  readIdxLabels,
} from '../../scripts/fashion-mnist.ts';

before(async () => {
  await initBackend({ purpose: 'train' });
});

const POOL = 5000;
const HELD_OUT = 2000;
const DIMS = 50;

async function features() {
  const tf = activeTf();
  const train = await readIdxImages(`${FASHION_MNIST_DIR}/train-images-idx3-ubyte.gz`, POOL);
  const trainY = await readIdxLabels(`${FASHION_MNIST_DIR}/train-labels-idx1-ubyte.gz`, POOL);
  const test = await readIdxImages(`${FASHION_MNIST_DIR}/t10k-images-idx3-ubyte.gz`, HELD_OUT);
  const testY = await readIdxLabels(`${FASHION_MNIST_DIR}/t10k-labels-idx1-ubyte.gz`, HELD_OUT);
  const toX = (d: Uint8Array, n: number) =>
    tf.tensor2d(
      Float32Array.from(d, (v) => v / 255),
      [n, 784],
    );
  const xPool = toX(train.data, POOL);
  const xTest = toX(test.data, HELD_OUT);
  const pca = Pca.fit(xPool, { nComponents: DIMS });
  const fp = pca.transform(xPool);
  const ft = pca.transform(xTest);
  const out = { pool: fp.dataSync() as Float32Array, test: ft.dataSync() as Float32Array, trainY, testY };
  [xPool, xTest, fp, ft].forEach((t) => t.dispose());
  return out;
}

function oneHot(y: Uint8Array): LabelTable {
  const t = emptyTable(y.length, FASHION_MNIST_CLASSES);
  t.labels.fill(0);
  y.forEach((c, i) => (t.labels[i * 10 + c] = 1));
  return t;
}

// Why plain 'max entropy' (binary entropy summed over the 10 one-vs-rest classes) does not reliably beat random: the sum
// is largest on images that several classes are mildly unsure about, so the batches pile into a few classes (seed 8:
// 40 pullovers and 34 shirts but 7 bags among the 200) and starve others (BENCHMARKS.md). 'balanced uncertainty' lets
// the classes take turns, each adding its image nearest p = 0.5: every one-vs-rest boundary gets labels. Same seeds,
// same head training and the same 200-label budget for every ordering; only the ordering differs.
// ACTIVE_FASHION_SEEDS=2024,1,2,...,11 runs the wider sweep reported in BENCHMARKS.md.
const SEEDS = (process.env.ACTIVE_FASHION_SEEDS ?? '2024,1,2,3').split(',').map((v) => {
  const seed = Number(v);
  if (!Number.isInteger(seed))
    throw new Error(`ACTIVE_FASHION_SEEDS: ${JSON.stringify(v)} is not an integer seed`);
  return seed;
});

test('200 labels picked by uncertainty (balanced uncertainty, and BADGE) give a higher mean per-class AUC than 200 random picks, on every seed', async () => {
  const f = await features();
  const truthTest = oneHot(f.testY);
  const run = (sort: string, seed: number) => {
    const rng = Rng.fromSeed(seed);
    const known = emptyTable(POOL, FASHION_MNIST_CLASSES); // what the labeler has answered so far
    const reveal = (rows: number[]) =>
      rows.forEach((i) => known.labels.fill(0, i * 10, i * 10 + 10).set([1], i * 10 + f.trainY[i]!));
    reveal(pickIndices(known, { subset: 'unlabeled', sort: 'random', count: 20, rng }).indices);
    let head: Head | undefined;
    const fit = () => {
      head?.dispose();
      head = Head.create({ kind: 'linear', inputDim: DIMS, numClasses: 10, seed: 7, learningRate: 1e-2 });
      head.train(f.pool, known, { epochs: 10, samplesPerEpoch: 320, batchSize: 32, rng: Rng.fromSeed(99) });
    };
    for (let labeled = 20; labeled < 200; labeled += 20) {
      fit();
      const probs = sort === 'random' ? undefined : head!.predict(f.pool);
      reveal(
        pickIndices(known, {
          subset: 'unlabeled',
          sort,
          count: 20,
          rng,
          probs,
          embedding: probs ? { data: f.pool, dim: DIMS } : undefined,
        }).indices,
      );
    }
    assert.equal(
      known.labels.filter((v) => v !== -1).length,
      200 * 10,
      'every ordering spends exactly 200 labels',
    );
    fit();
    const auc = meanAuc(classMetrics(head!.predict(f.test), truthTest));
    head!.dispose();
    return auc;
  };
  const losses: string[] = [];
  for (const seed of SEEDS) {
    const random = run('random', seed);
    const balanced = run('balanced uncertainty', seed);
    const badge = run('diverse (badge)', seed);
    const maxent = run('max entropy', seed);
    console.log(
      `Fashion-MNIST seed ${seed}, 200 labels, PCA-${DIMS} linear head, mean AUC: balanced uncertainty ${balanced.toFixed(4)}, badge ${badge.toFixed(4)}, max entropy ${maxent.toFixed(4)}, random ${random.toFixed(4)}`,
    );
    if (!(balanced > random))
      losses.push(`seed ${seed}: balanced uncertainty ${balanced} vs random ${random}`);
    if (!(badge > random)) losses.push(`seed ${seed}: badge ${badge} vs random ${random}`);
  }
  assert.deepEqual(losses, [], 'uncertainty-based picks beat random picks on every seed');
});
