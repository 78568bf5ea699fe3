// The labeling benchmark's data and simulation, shared by `npm run bench:labeling` and its fast test: labelled sets
// built from Debian's Fashion-MNIST, PCA pixel features, a simulated labeler that goes through the workflow's round
// code, and scikit-learn's LogisticRegressionCV on the same labels as the reference.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  classMetrics,
  emptyTable,
  fitRoundHead,
  pickIndices,
  positiveCounts,
  type LabelTable,
} from '../../../ml/active/index.ts';
import { activeTf } from '../../../ml/backend.ts';
import { Pca } from '../../../ml/cluster/index.ts';
import { derivedSeed } from '../../../ml/methods/plan.ts';
import { Rng } from '../../../ml/rng.ts';
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DIR,
  readIdxImages,
  readIdxLabels,
} from '../../fashion-mnist.ts';
import type { ImageArray } from './fcn.ts';

export const RARE = ['trouser', 'shirt'].map((c) => FASHION_MNIST_CLASSES.indexOf(c));
const RARE_CELL_P = 0.005;
const RARE_IMAGE_P = 0.02;
const K = FASHION_MNIST_CLASSES.length;
const VAL_ITEMS_FROM = 50000;

/** Fashion-MNIST as the sets draw from it: the train split, and where held-out images come from. */
export interface FashionData {
  train: Uint8Array;
  trainY: Uint8Array;
  t10k: Uint8Array;
  t10kY: Uint8Array;
  split: 'test' | 'val';
  held: { images: Uint8Array; labels: Uint8Array; from: number; to: number };
}

/** split 'test' holds images out from t10k; 'val' from the train split's last images (never in a pool). */
export async function loadFashion(split: 'test' | 'val'): Promise<FashionData> {
  const train = (await readIdxImages(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'))).data;
  const trainY = await readIdxLabels(join(FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz'));
  const t10k = (await readIdxImages(join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'))).data;
  const t10kY = await readIdxLabels(join(FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz'));
  const held =
    split === 'test'
      ? { images: t10k, labels: t10kY, from: 0, to: 10000 }
      : { images: train, labels: trainY, from: 55000, to: 60000 };
  return { train, trainY, t10k, t10kY, split, held };
}

/** Pool and held-out sizes, and the seed of the random draws that build a set. */
export interface SetSize {
  pool: number;
  held: number;
  seed: number;
}

export interface LabelledSet {
  name: string;
  classes: string[];
  pool: ImageArray;
  held: ImageArray;
  /** [n, k] 0/1 truth. */
  poolTruth: Int8Array;
  heldTruth: Int8Array;
  rare: number[];
}

export function singleSet(d: FashionData, size: SetSize): LabelledSet {
  const take = (bytes: Uint8Array, from: number, count: number) =>
    Float32Array.from(bytes.subarray(from * 784, (from + count) * 784), (v) => v / 255);
  const oneHot = (labels: Uint8Array, from: number, count: number) => {
    const t = new Int8Array(count * K);
    for (let i = 0; i < count; i++) t[i * K + labels[from + i]!] = 1;
    return t;
  };
  return {
    name: 'single-label Fashion-MNIST',
    classes: FASHION_MNIST_CLASSES,
    pool: { data: take(d.train, 0, size.pool), size: 28 },
    held: { data: take(d.held.images, d.held.from, size.held), size: 28 },
    poolTruth: oneHot(d.trainY, 0, size.pool),
    heldTruth: oneHot(d.held.labels, d.held.from, size.held),
    rare: [],
  };
}

/** Single Fashion-MNIST items with the rare classes at RARE_SHARE of the images each (items drawn without repeats). */
function imbalancedItems(labels: Uint8Array, from: number, to: number, count: number, rng: Rng): number[] {
  const byClass = Array.from({ length: K }, () => [] as number[]);
  for (let i = from; i < to; i++) byClass[labels[i]!]!.push(i);
  const common = Array.from({ length: K }, (_, c) => c).filter((c) => !RARE.includes(c));
  const next = new Array<number>(K).fill(0);
  return Array.from({ length: count }, () => {
    const u = rng.next();
    const c =
      u < RARE_IMAGE_P * RARE.length
        ? RARE[Math.floor(u / RARE_IMAGE_P)]!
        : common[rng.integer(0, common.length)]!;
    return byClass[c]![next[c]!++]!;
  });
}

export function imbalancedSet(d: FashionData, size: SetSize): LabelledSet {
  const rng = Rng.fromSeed(derivedSeed(size.seed, 201, 0));
  const pool = imbalancedItems(d.trainY, 0, VAL_ITEMS_FROM, size.pool, rng);
  const held = imbalancedItems(d.held.labels, d.held.from, d.held.to, size.held, rng);
  const pixels = (bytes: Uint8Array, items: number[]) => {
    const out = new Float32Array(items.length * 784);
    items.forEach((item, i) => {
      for (let j = 0; j < 784; j++) out[i * 784 + j] = bytes[item * 784 + j]! / 255;
    });
    return out;
  };
  const oneHot = (labels: Uint8Array, items: number[]) => {
    const t = new Int8Array(items.length * K);
    items.forEach((item, i) => (t[i * K + labels[item]!] = 1));
    return t;
  };
  return {
    name: 'imbalanced single-label Fashion-MNIST',
    classes: FASHION_MNIST_CLASSES,
    pool: { data: pixels(d.train, pool), size: 28 },
    held: { data: pixels(d.held.images, held), size: 28 },
    poolTruth: oneHot(d.trainY, pool),
    heldTruth: oneHot(d.held.labels, held),
    rare: RARE,
  };
}

function mosaics(
  images: Uint8Array,
  labels: Uint8Array,
  from: number,
  to: number,
  count: number,
  rng: Rng,
): { data: Float32Array; truth: Int8Array } {
  const byClass = Array.from({ length: K }, () => [] as number[]);
  for (let i = from; i < to; i++) byClass[labels[i]!]!.push(i);
  const common = Array.from({ length: K }, (_, c) => c).filter((c) => !RARE.includes(c));
  const data = new Float32Array(count * 56 * 56);
  const truth = new Int8Array(count * K);
  for (let m = 0; m < count; m++) {
    for (let cell = 0; cell < 4; cell++) {
      const u = rng.next();
      const c =
        u < RARE_CELL_P * RARE.length
          ? RARE[Math.floor(u / RARE_CELL_P)]!
          : common[rng.integer(0, common.length)]!;
      truth[m * K + c] = 1;
      const list = byClass[c]!;
      const item = list[rng.integer(0, list.length)]!;
      const oy = (cell >> 1) * 28;
      const ox = (cell & 1) * 28;
      for (let y = 0; y < 28; y++)
        for (let x = 0; x < 28; x++)
          data[m * 3136 + (oy + y) * 56 + ox + x] = images[item * 784 + y * 28 + x]! / 255;
    }
  }
  return { data, truth };
}

export function mosaicSet(d: FashionData, size: SetSize): LabelledSet {
  const rng = Rng.fromSeed(derivedSeed(size.seed, 200, 0));
  const pool = mosaics(d.train, d.trainY, 0, VAL_ITEMS_FROM, size.pool, rng);
  const held =
    d.split === 'test'
      ? mosaics(d.t10k, d.t10kY, 0, 10000, size.held, rng)
      : mosaics(d.train, d.trainY, VAL_ITEMS_FROM, 60000, size.held, rng);
  return {
    name: 'multi-label imbalanced mosaics',
    classes: FASHION_MNIST_CLASSES,
    pool: { data: pool.data, size: 56 },
    held: { data: held.data, size: 56 },
    poolTruth: pool.truth,
    heldTruth: held.truth,
    rare: RARE,
  };
}

export interface Features {
  name: string;
  dim: number;
  pool: Float32Array;
  held: Float32Array;
}

export function pcaFeatures(set: LabelledSet, dims = 50): Features {
  const tf = activeTf();
  const d = set.pool.size * set.pool.size;
  const out = tf.tidy(() => {
    const pool = tf.tensor2d(set.pool.data, [set.pool.data.length / d, d]);
    const pca = Pca.fit(pool, { nComponents: dims });
    return {
      pool: pca.transform(pool).dataSync() as Float32Array,
      held: pca
        .transform(tf.tensor2d(set.held.data, [set.held.data.length / d, d]))
        .dataSync() as Float32Array,
    };
  });
  return { name: `PCA pixels (${dims})`, dim: dims, ...out };
}

export interface Checkpoint {
  labels: number;
  meanAuc: number;
  rareAuc: number;
  rareFound: number;
  /** Pool rows labelled so far (for the scikit-learn reference). */
  rows: number[];
}

const truthTable = (truth: Int8Array, classes: string[]): LabelTable => ({
  ...emptyTable(truth.length / classes.length, classes),
  labels: truth,
});

export function scores(set: LabelledSet, probs: Float32Array): { meanAuc: number; rareAuc: number } {
  const metrics = classMetrics(probs, truthTable(set.heldTruth, set.classes));
  const mean = (cs: number[]) => cs.reduce((a, c) => a + metrics[c]!.auc, 0) / cs.length;
  return {
    meanAuc: mean(metrics.map((_, c) => c)),
    rareAuc: set.rare.length > 0 ? mean(set.rare) : NaN,
  };
}

export interface Schedule {
  /** Images per round (the first round's images are random). */
  batch: number;
  maxLabels: number;
  /** Label counts at which the head is scored; rounds stop short to land on them. */
  checkpoints: number[];
}

/**
 * A simulated labeler on `set`: random first images, then rounds through the workflow's own code (fitRoundHead with
 * default options, predict, pickIndices by `order`), answering every class of each picked image.
 */
export function simulate(
  set: LabelledSet,
  f: Features,
  order: string,
  seed: number,
  { batch, maxLabels, checkpoints }: Schedule,
): Checkpoint[] {
  const n = f.pool.length / f.dim;
  const k = set.classes.length;
  const known = emptyTable(n, set.classes);
  const rng = Rng.fromSeed(derivedSeed(seed, 300, 0));
  const labelled: number[] = [];
  const reveal = (rows: number[]) => {
    for (const i of rows) {
      known.labels.set(set.poolTruth.subarray(i * k, i * k + k), i * k);
      labelled.push(i);
    }
  };
  reveal(pickIndices(known, { subset: 'unlabeled', sort: 'random', count: batch, rng }).indices);
  const out: Checkpoint[] = [];
  for (;;) {
    const scored = checkpoints.includes(labelled.length);
    const done = labelled.length >= maxLabels;
    // Random picks need no head between checkpoints; the head of a round depends only on its labels and seed.
    const head =
      scored || (!done && order !== 'random')
        ? fitRoundHead({ features: f.pool, table: known, options: {}, seed: seed * 1000 + labelled.length })
            .head
        : undefined;
    if (scored) {
      const positives = positiveCounts(known.labels, k, known.exclude, known.validation);
      out.push({
        labels: labelled.length,
        ...scores(set, head!.predict(f.held)),
        rareFound: set.rare.reduce((a, c) => a + positives[c]!, 0),
        rows: labelled.slice(),
      });
    }
    if (done) {
      head?.dispose();
      return out;
    }
    // A round stops short at a checkpoint so every ordering is scored at exactly 50, 100, ... labels.
    const next = checkpoints.find((c) => c > labelled.length) ?? maxLabels;
    const count = Math.min(batch, next - labelled.length);
    const probs = order === 'random' ? undefined : head!.predict(f.pool);
    const embedding = order === 'diverse (badge)' ? head!.embed(f.pool) : undefined;
    reveal(pickIndices(known, { subset: 'unlabeled', sort: order, count, rng, probs, embedding }).indices);
    head?.dispose();
  }
}

export interface ReferenceJob {
  features: string;
  rows: number[];
}

/** Runs in a child process, so the next set's simulations go on meanwhile. */
export async function sklearnReference(
  python: string,
  set: LabelledSet,
  features: Features[],
  jobs: ReferenceJob[],
): Promise<{ meanAuc: number; rareAuc: number }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'patchwork-bench-labeling-'));
  try {
    const k = set.classes.length;
    const names = features.map((f, i) => {
      writeFileSync(join(dir, `pool${i}.f32`), f.pool);
      writeFileSync(join(dir, `held${i}.f32`), f.held);
      return { name: f.name, index: i, dim: f.dim };
    });
    writeFileSync(join(dir, 'ypool.i8'), set.poolTruth);
    writeFileSync(join(dir, 'yheld.i8'), set.heldTruth);
    writeFileSync(
      join(dir, 'jobs.json'),
      JSON.stringify({
        k,
        rare: set.rare,
        features: names,
        jobs: jobs.map((j) => ({ f: names.find((x) => x.name === j.features)!.index, rows: j.rows })),
      }),
    );
    const script = String.raw`
import json, sys, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
warnings.filterwarnings("ignore")
d = sys.argv[1]
spec = json.load(open(d + "/jobs.json"))
k = spec["k"]
yp = np.fromfile(d + "/ypool.i8", dtype=np.int8).reshape(-1, k)
yh = np.fromfile(d + "/yheld.i8", dtype=np.int8).reshape(-1, k)
feats = {}
for f in spec["features"]:
    feats[f["index"]] = (np.fromfile(d + "/pool%d.f32" % f["index"], dtype=np.float32).reshape(-1, f["dim"]),
                         np.fromfile(d + "/held%d.f32" % f["index"], dtype=np.float32).reshape(-1, f["dim"]))
from joblib import Parallel, delayed
def run(job):
    xp, xh = feats[job["f"]]
    rows = np.array(job["rows"])
    s = StandardScaler().fit(xp[rows])
    xtr, xte = s.transform(xp[rows]), s.transform(xh)
    aucs = []
    for c in range(k):
        y = yp[rows, c]
        pos = int(y.sum())
        neg = len(y) - pos
        if pos == 0 or neg == 0:
            aucs.append(0.5)
            continue
        if min(pos, neg) >= 2:
            cv = StratifiedKFold(n_splits=min(3, pos, neg), shuffle=True, random_state=0)
            clf = LogisticRegressionCV(Cs=10, cv=cv, scoring="roc_auc", max_iter=1000).fit(xtr, y)
        else:
            clf = LogisticRegression(C=1.0, max_iter=1000).fit(xtr, y)
        aucs.append(roc_auc_score(yh[:, c], clf.decision_function(xte)))
    rare = spec["rare"]
    return {"meanAuc": float(np.mean(aucs)), "rareAuc": float(np.mean([aucs[c] for c in rare])) if rare else None}
out = Parallel(n_jobs=2)(delayed(run)(job) for job in spec["jobs"])
json.dump(out, open(d + "/out.json", "w"))
`;
    await promisify(execFile)(python, ['-c', script, dir], { maxBuffer: 64 << 20 });
    return (
      JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as { meanAuc: number; rareAuc: number | null }[]
    ).map((r) => ({ meanAuc: r.meanAuc, rareAuc: r.rareAuc ?? NaN }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
