// Labeling benchmark: does the active-learning round (head + queue ordering) reach a good classifier with few labels?
// A simulated labeler answers every class of the images each ordering picks: 20 random, then rounds of 20 up to
// --max-labels, each round going through the code the workflow runs (fitRoundHead, predict, pickIndices).
//
// Usage: npm run bench:labeling [-- --seeds 1,2,3,4,5 --sets single,mosaic --eval test|val ...] (see parseArgs)
//
// Sets, all from Debian's Fashion-MNIST:
// - single: the single-label protocol (pool: train images 0..pool-1; held out: t10k or, with --eval val, train images
//   from 55 000); features: PCA of the pixels (50 dims, fitted on the pool).
// - mosaic: 2x2 mosaics (56x56) of Fashion-MNIST items; a mosaic's labels are the classes that appear in it. Trouser
//   and Shirt are rare (each cell takes them with p = 0.005, so each appears in about 2 % of mosaics); the other
//   eight share the rest. Pool items come from train images 0..49 999, held-out items from t10k (or, with --eval val,
//   from train images 50 000..). Features: PCA pixels (50 dims), the random-weights smallResNet, and the same network
//   after DeepCluster on the unlabelled pool mosaics; network features are the output globally average-pooled, as the
//   embedding workflow stores them (--layers stages: every stage's output, the quality benchmark's probe features).
// - imbalanced: single Fashion-MNIST items with trouser and shirt at 2 % of the images each (the others about 12 %),
//   pool from train images 0..49 999, held out from t10k (or train images from 55 000); features: PCA pixels (50).
//   Unlike the mosaics, its rare classes are visible to a linear head on these features.
// Reported per set, features and ordering over the seeds (mean ± standard error): mean per-class ROC AUC on the
// held-out images at each checkpoint, the rare classes' AUC, and rare positives found; plus scikit-learn's
// LogisticRegressionCV on the same labels (StandardScaler fitted on the labelled rows, C by stratified 3-fold
// cross-validation on ROC AUC; LogisticRegression with C = 1 where a class has fewer than 2 positives or negatives).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { LayersModel, Tensor4D } from '@tensorflow/tfjs';
import { initBackend } from '../../ml/backend.ts';
import { layerFeatures } from '../../ml/eval/layer-features.ts';
import { installNativeKernels } from '../../ml/kernels/native/index.ts';
import { derivedSeed } from '../../ml/methods/plan.ts';
import { smallResNet } from '../../ml/models/index.ts';
import { Rng } from '../../ml/rng.ts';
import { GREY_AUGMENT, seededInit, stageOutputs, trainDeepCluster, type ImageArray } from './lib/fcn.ts';
import {
  imbalancedSet,
  loadFashion,
  mosaicSet,
  pcaFeatures,
  simulate,
  singleSet,
  sklearnReference,
  type Checkpoint,
  type Features,
  type LabelledSet,
} from './lib/labeling-sim.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3,4,5' },
    sets: { type: 'string', default: 'mosaic,single' },
    features: { type: 'string', default: 'pca,random,deepcluster' },
    orders: { type: 'string', default: 'random,balanced uncertainty,diverse (badge),rare first' },
    'reference-orders': { type: 'string', default: 'random,diverse (badge)' },
    eval: { type: 'string', default: 'test' },
    pool: { type: 'string', default: '4000' },
    'held-out': { type: 'string', default: '2000' },
    batch: { type: 'string', default: '20' },
    'max-labels': { type: 'string', default: '400' },
    checkpoints: { type: 'string', default: '50,100,200,400' },
    'dc-epochs': { type: 'string', default: '3' },
    widths: { type: 'string', default: '16,32,64,128' },
    layers: { type: 'string', default: 'last' },
    pooling: { type: 'string', default: 'avg' },
    'data-seed': { type: 'string', default: '1' },
    json: { type: 'string' },
  },
});
const fail = (message: string): never => {
  console.error(`bench:labeling: ${message}`);
  process.exit(2);
};
const ints = (name: string, text: string) =>
  text.split(',').map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) fail(`--${name}: ${JSON.stringify(v)} is not a non-negative integer`);
    return n;
  });
const int = (name: keyof typeof values) => ints(name, String(values[name]))[0]!;
const seeds = ints('seeds', values.seeds!);
const sets = values.sets!.split(',');
const SETS = { single: singleSet, mosaic: mosaicSet, imbalanced: imbalancedSet } as const;
for (const s of sets) if (!(s in SETS)) fail(`--sets: unknown set ${s}; use ${Object.keys(SETS).join(', ')}`);
const featureKinds = values.features!.split(',');
for (const f of featureKinds)
  if (!['pca', 'random', 'deepcluster'].includes(f))
    fail(`--features: unknown ${f}; use pca, random, deepcluster`);
const orders = values.orders!.split(',');
const referenceOrders = values['reference-orders']!.split(',').filter((o) => orders.includes(o));
if (values.eval !== 'test' && values.eval !== 'val') fail(`--eval must be test or val, got ${values.eval}`);
const poolSize = int('pool');
const heldSize = int('held-out');
const batch = int('batch');
const maxLabels = int('max-labels');
const checkpoints = ints('checkpoints', values.checkpoints!).filter((c) => c <= maxLabels);
const widths = ints('widths', values.widths!);
if (values.layers !== 'last' && values.layers !== 'stages')
  fail(`--layers must be last or stages, got ${values.layers}`);
const dataSeed = int('data-seed');
const python = join(import.meta.dirname, '..', '..', '.tools', 'venv', 'bin', 'python');
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
const say = (line: string) => console.log(`${line} (${elapsed()})`);

const { tf, name: backend } = await initBackend({ purpose: 'train' });
installNativeKernels();
const fashion = await loadFashion(values.eval as 'test' | 'val');
const schedule = { batch, maxLabels, checkpoints };

// --- features -------------------------------------------------------------------------------------------------------
async function networkFeatures(set: LabelledSet, pretrain: boolean): Promise<Features> {
  const size = set.pool.size;
  const fcn = smallResNet({ channels: 1, widths });
  seededInit(fcn, Rng.fromSeed(derivedSeed(dataSeed, 100, 0)));
  let net = fcn;
  if (pretrain) {
    const initialWeights = fcn.getWeights().map((w) => w.clone());
    net = await trainDeepCluster({
      fcn,
      initialWeights,
      images: set.pool,
      count: set.pool.data.length / (size * size),
      epochs: int('dc-epochs'),
      batchSize: 64,
      seed: dataSeed,
      config: { k: 100, dense: [512], pca_dim: 64, kmeans_max_iter: 30, lr: 0.05, lr_decay: 0 },
      augment: GREY_AUGMENT,
      log: say,
    });
    tf.dispose(initialWeights);
  }
  // 'last': the output globally average-pooled, what the embedding workflow stores and labeling rounds train on.
  const layers = values.layers === 'stages' ? stageOutputs(fcn, widths.length) : undefined;
  const of = async (images: ImageArray) =>
    values.pooling === 'max'
      ? maxPooled(net, images.data, images.data.length / (size * size), size)
      : layerFeatures(net, images.data, [images.data.length / (size * size), size, size, 1], { layers });
  const pool = await of(set.pool);
  const held = await of(set.held);
  return {
    name: pretrain ? `DeepCluster smallResNet (${pool.dim})` : `random-weights smallResNet (${pool.dim})`,
    dim: pool.dim,
    pool: pool.features,
    held: held.features,
  };
}

/** The output globally max-pooled, [n, channels]. */
function maxPooled(net: LayersModel, data: Float32Array, n: number, size: number) {
  const rows: Float32Array[] = [];
  for (let start = 0; start < n; start += 250) {
    const m = Math.min(250, n - start);
    rows.push(
      tf.tidy(() => {
        const x = tf.tensor4d(data.subarray(start * size * size, (start + m) * size * size), [
          m,
          size,
          size,
          1,
        ]);
        return tf.max(net.predict(x) as Tensor4D, [1, 2]).dataSync() as Float32Array;
      }),
    );
  }
  const dim = rows[0]!.length / Math.min(250, n);
  const features = new Float32Array(n * dim);
  rows.reduce((at, r) => (features.set(r, at), at + r.length), 0);
  return { features, dim };
}

// --- run ------------------------------------------------------------------------------------------------------------
const meanSe = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.length > 1 ? xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1) : 0;
  return { mean: m, se: Math.sqrt(v / xs.length) };
};
const fmt = (xs: number[], digits = 3) => {
  if (xs.some((x) => !Number.isFinite(x))) return 'n/a';
  const { mean, se } = meanSe(xs);
  return `${mean.toFixed(digits)} ± ${se.toFixed(digits)}`;
};

say(
  `backend ${backend}; eval ${values.eval}; seeds ${seeds.join(',')}; pool ${poolSize}, held out ${heldSize}; ` +
    `rounds of ${batch} from ${batch} random to ${maxLabels}; orders ${orders.join(' | ')}`,
);
interface Row {
  set: string;
  features: string;
  order: string;
  /** [seed][checkpoint] */
  runs: Checkpoint[][];
  reference?: { meanAuc: number; rareAuc: number }[][];
}
const results: Row[] = [];
const references: Promise<void>[] = [];
for (const setName of sets) {
  const set = SETS[setName as keyof typeof SETS](fashion, { pool: poolSize, held: heldSize, seed: dataSeed });
  const prevalence = set.classes.map((_, c) => {
    let p = 0;
    const k = set.classes.length;
    for (let i = 0; i < set.poolTruth.length / k; i++) p += set.poolTruth[i * k + c]!;
    return p / (set.poolTruth.length / k);
  });
  say(
    `${set.name}: class prevalence in the pool ${prevalence.map((p) => `${(p * 100).toFixed(1)}%`).join(' ')}`,
  );
  const featureSets: Features[] = [];
  for (const kind of setName === 'mosaic' ? featureKinds : featureKinds.filter((f) => f === 'pca')) {
    featureSets.push(kind === 'pca' ? pcaFeatures(set) : await networkFeatures(set, kind === 'deepcluster'));
    say(`features: ${featureSets.at(-1)!.name}`);
  }
  for (const f of featureSets) {
    for (const order of orders) {
      const row: Row = { set: set.name, features: f.name, order, runs: [] };
      for (const seed of seeds) row.runs.push(simulate(set, f, order, seed, schedule));
      results.push(row);
      say(
        `${set.name} | ${f.name} | ${order}: mean AUC at ${checkpoints.join('/')}: ` +
          checkpoints.map((_, ci) => fmt(row.runs.map((r) => r[ci]!.meanAuc))).join(' / '),
      );
    }
  }
  const referenceRows = results.filter((r) => r.set === set.name && referenceOrders.includes(r.order));
  const jobs = referenceRows.flatMap((r) =>
    r.runs.flatMap((run) => run.map((c) => ({ features: r.features, rows: c.rows }))),
  );
  if (jobs.length > 0)
    references.push(
      sklearnReference(python, set, featureSets, jobs).then((answers) => {
        let at = 0;
        for (const r of referenceRows) r.reference = r.runs.map((run) => run.map(() => answers[at++]!));
        say(`scikit-learn reference for ${set.name}: ${jobs.length} fits`);
      }),
    );
}
await Promise.all(references);

// --- report ---------------------------------------------------------------------------------------------------------
for (const setName of [...new Set(results.map((r) => r.set))]) {
  const rows = results.filter((r) => r.set === setName);
  const rare = !setName.startsWith('single');
  console.log(`\n### ${setName} (${values.eval} split, ${seeds.length} seeds, mean ± s.e.)\n`);
  console.log(
    `| features | ordering | ${checkpoints.map((c) => `mean AUC @${c}`).join(' | ')}${rare ? ` | ${checkpoints.map((c) => `rare AUC @${c}`).join(' | ')} | rare positives found @${checkpoints.join('/')}` : ''} |`,
  );
  console.log(`| --- | --- |${' --- |'.repeat(checkpoints.length * (rare ? 2 : 1) + (rare ? 1 : 0))}`);
  for (const r of rows) {
    const cells = checkpoints.map((_, ci) => fmt(r.runs.map((run) => run[ci]!.meanAuc)));
    const rareCells = checkpoints.map((_, ci) => fmt(r.runs.map((run) => run[ci]!.rareAuc)));
    const found = checkpoints
      .map((_, ci) => meanSe(r.runs.map((run) => run[ci]!.rareFound)).mean.toFixed(1))
      .join('/');
    console.log(
      `| ${r.features} | ${r.order} | ${cells.join(' | ')}${rare ? ` | ${rareCells.join(' | ')} | ${found}` : ''} |`,
    );
    if (r.reference) {
      const ref = checkpoints.map((_, ci) => fmt(r.reference!.map((run) => run[ci]!.meanAuc)));
      const refRare = checkpoints.map((_, ci) => fmt(r.reference!.map((run) => run[ci]!.rareAuc)));
      console.log(
        `| ${r.features} | ${r.order}: scikit-learn LogisticRegressionCV, same labels | ${ref.join(' | ')}${rare ? ` | ${refRare.join(' | ')} | same` : ''} |`,
      );
    }
  }
  // Verdicts: the head against scikit-learn on the same labels; the default ordering against random (paired by seed).
  for (const r of rows.filter((x) => x.reference)) {
    for (const [ci, c] of checkpoints.entries()) {
      const diff = r.runs.map((run, s) => run[ci]!.meanAuc - r.reference![s]![ci]!.meanAuc);
      const d = meanSe(diff);
      const rareDiff = rare
        ? meanSe(r.runs.map((run, s) => run[ci]!.rareAuc - r.reference![s]![ci]!.rareAuc))
        : undefined;
      console.log(
        `head vs scikit-learn | ${r.features} | ${r.order} @${c}: mean AUC ${d.mean >= 0 ? '+' : ''}${d.mean.toFixed(4)} ± ${d.se.toFixed(4)}` +
          (rareDiff
            ? `, rare AUC ${rareDiff.mean >= 0 ? '+' : ''}${rareDiff.mean.toFixed(4)} ± ${rareDiff.se.toFixed(4)}`
            : '') +
          ` ${d.mean >= 0 && (!rareDiff || rareDiff.mean >= 0) ? 'OK' : 'MISS'}`,
      );
    }
  }
  for (const f of [...new Set(rows.map((r) => r.features))]) {
    const random = rows.find((r) => r.features === f && r.order === 'random');
    if (!random) continue;
    for (const r of rows.filter((x) => x.features === f && x.order !== 'random')) {
      const ci = checkpoints.indexOf(200) >= 0 ? checkpoints.indexOf(200) : checkpoints.length - 1;
      const d = meanSe(r.runs.map((run, s) => run[ci]!.meanAuc - random.runs[s]![ci]!.meanAuc));
      const found = meanSe(r.runs.map((run) => run[ci]!.rareFound)).mean;
      const randomFound = meanSe(random.runs.map((run) => run[ci]!.rareFound)).mean;
      console.log(
        `vs random | ${f} | ${r.order} @${checkpoints[ci]}: mean AUC ${d.mean >= 0 ? '+' : ''}${d.mean.toFixed(4)} ± ${d.se.toFixed(4)} (paired)` +
          (rare
            ? `, rare positives ${found.toFixed(1)} vs ${randomFound.toFixed(1)} (${(found / Math.max(randomFound, 1e-9)).toFixed(1)}x)`
            : ''),
      );
    }
  }
}
if (values.json)
  writeFileSync(
    values.json,
    JSON.stringify(
      results.map((r) => ({ ...r, runs: r.runs.map((run) => run.map(({ rows, ...c }) => c)) })),
      null,
      1,
    ),
  );
console.log(`\nwall time ${elapsed()}`);
