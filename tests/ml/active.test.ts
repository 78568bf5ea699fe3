import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { activeTf, initBackend } from '../../ml/backend.ts';
import {
  badgeSelect,
  binaryEntropy,
  classMetrics,
  emptyTable,
  entropyLoss,
  Head,
  maskedBinaryCrossEntropy,
  pickIndices,
  rocAuc,
  sortOptions,
  stratifiedSample,
  subsetOptions,
  subsetRows,
  type LabelTable,
} from '../../ml/active/index.ts';
import { Rng } from '../../ml/rng.ts';

before(async () => {
  await initBackend({ purpose: 'train' });
});

test('masked BCE equals a hand computation and ignores predictions at unknown cells (value and gradient)', () => {
  const tf = activeTf();
  const y = tf.tensor2d(
    [
      [1, -1, 0],
      [-1, 1, -1],
    ],
    [2, 3],
    'int32',
  );
  const p1 = [
    [0.8, 0.3, 0.4],
    [0.5, 0.6, 0.1],
  ];
  const p2 = [
    [0.8, 0.99, 0.4],
    [0.01, 0.6, 0.7],
  ]; // only unknown cells changed
  // Known cells: (0,0) y=1 p=.8; (0,2) y=0 p=.4; (1,1) y=1 p=.6. Keras: -[y ln(p+eps) + (1-y) ln(1-p+eps)].
  const eps = 1e-7;
  const hand = -(Math.log(0.8 + eps) + Math.log(1 - 0.4 + eps) + Math.log(0.6 + eps)) / 3;
  const lossAndGrad = (p: number[][]) => {
    const pt = tf.tensor2d(p);
    const g = tf.grad((q) => maskedBinaryCrossEntropy(y, q))(pt);
    return { loss: maskedBinaryCrossEntropy(y, pt).dataSync()[0]!, grad: Array.from(g.dataSync()) };
  };
  const a = lossAndGrad(p1);
  const b = lossAndGrad(p2);
  assert.ok(Math.abs(a.loss - hand) < 1e-6, `loss ${a.loss} vs hand ${hand}`);
  assert.equal(a.loss, b.loss);
  assert.deepEqual(a.grad, b.grad);
  for (const i of [1, 3, 5]) assert.equal(a.grad[i], 0, 'no gradient reaches an unknown cell');
  // d/dp of -ln(p)/3 at p=.8 is -1/(3*.8).
  assert.ok(Math.abs(a.grad[0]! + 1 / (3 * 0.8)) < 1e-4);
  // All unknown: zero, not NaN.
  assert.equal(
    maskedBinaryCrossEntropy(tf.tensor2d([[-1]], [1, 1], 'int32'), tf.tensor2d([[0.3]])).dataSync()[0],
    0,
  );
  // Entropy in nats: p=.5 gives ln 2.
  assert.ok(Math.abs(entropyLoss(tf.tensor2d([[0.5, 0.5]])).dataSync()[0]! - Math.LN2) < 1e-6);
});

function tableOf(
  classes: string[],
  rows: number[][],
  flags: { exclude?: number[]; validation?: number[] } = {},
): LabelTable {
  const t = emptyTable(rows.length, classes);
  rows.forEach((r, i) => t.labels.set(r, i * classes.length));
  for (const i of flags.exclude ?? []) t.exclude[i] = 1;
  for (const i of flags.validation ?? []) t.validation[i] = 1;
  return t;
}

test('stratified sampling draws rows with the documented proportions (z, then class list, then row, uniform)', () => {
  // A: 1 at rows 0,1,2, 0 at row 3.  B: 1 at row 4, 0 at rows 0,5,6. Row 7 (excluded) and 8 (validation) never count.
  const t = tableOf(
    ['A', 'B'],
    [
      [1, 0],
      [1, -1],
      [1, -1],
      [0, -1],
      [-1, 1],
      [-1, 0],
      [-1, 0],
      [1, 1],
      [1, 1],
    ],
    { exclude: [7], validation: [8] },
  );
  // Lists: z=1 -> A{0,1,2}, B{4}; z=0 -> A{3}, B{0,5,6}. P(row) = sum over lists holding it of 1/2 * 1/2 * 1/|list|.
  const expected = [1 / 12 + 1 / 12, 1 / 12, 1 / 12, 1 / 4, 1 / 4, 1 / 12, 1 / 12, 0, 0];
  const n = 60_000;
  const s = stratifiedSample(t, n, Rng.fromSeed(7));
  const counts = new Array(9).fill(0);
  s.indices.forEach((i, j) => {
    counts[i]++;
    assert.deepEqual(
      Array.from(s.labels.subarray(j * 2, j * 2 + 2)),
      Array.from(t.labels.subarray(i * 2, i * 2 + 2)),
    );
  });
  expected.forEach((p, i) => {
    const sd = Math.sqrt(n * p * (1 - p) || 1);
    assert.ok(
      Math.abs(counts[i] - n * p) < 5 * sd,
      `row ${i}: ${counts[i]} draws, expected ${n * p} ± ${5 * sd}`,
    );
  });
  assert.throws(
    () => stratifiedSample(tableOf(['A'], [[1], [-1]]), 5, Rng.fromSeed(1)),
    /need at least one 0/,
  );
});

test('AUC and precision/recall match hand values', () => {
  assert.equal(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  assert.equal(rocAuc([0.5, 0.5], [0, 1]), 0.5);
  assert.ok(Number.isNaN(rocAuc([0.5, 0.2], [1, 1])));
  const t = tableOf(['A'], [[1], [0], [1], [-1], [0]]);
  const m = classMetrics(Float32Array.from([0.9, 0.7, 0.2, 0.99, 0.1]), t)[0]!;
  // Known rows 0,1,2,4: predicted positive rows 0 (tp), 1 (fp); row 2 is a missed positive.
  assert.deepEqual(
    { p: m.precision, r: m.recall, pos: m.positives, neg: m.negatives },
    { p: 0.5, r: 0.5, pos: 2, neg: 2 },
  );
  assert.equal(m.auc, 0.75);
});

test('every subset and sort of the original; excluded rows never come back', () => {
  const classes = ['A', 'B: x']; // a class name containing ': ' still parses
  const t = tableOf(
    classes,
    [
      [-1, -1],
      [1, 0],
      [0, -1],
      [-1, 1],
      [1, 1],
      [-1, -1],
      [0, 0],
    ],
    { exclude: [5, 6], validation: [4] },
  );
  const expect: Record<string, number[]> = {
    unlabeled: [0],
    'fully labeled': [1, 4],
    'partially labeled': [2, 3],
    excluded: [5, 6],
    'not excluded': [0, 1, 2, 3, 4],
    validation: [4],
    'unlabeled: A': [0, 3],
    'contains: A': [1, 4],
    "doesn't contain: A": [2],
    'unlabeled: B: x': [0, 2],
    'contains: B: x': [3, 4],
    "doesn't contain: B: x": [1],
  };
  assert.deepEqual(subsetOptions(classes).sort(), Object.keys(expect).sort());
  for (const [subset, rows] of Object.entries(expect)) assert.deepEqual(subsetRows(t, subset), rows, subset);

  const probs = Float32Array.from([0.5, 0.5, 0.9, 0.1, 0.3, 0.6, 0.55, 0.9, 0.2, 0.2, 0.5, 0.5, 0.5, 0.5]);
  const pick = (sort: string, subset = 'not excluded') =>
    pickIndices(t, { subset, sort, count: 9, rng: Rng.fromSeed(3), probs }).indices;
  assert.deepEqual(pick('high: A'), [1, 3, 0, 2, 4]);
  assert.deepEqual(pick('low: A'), [4, 2, 0, 3, 1]);
  // maxent: A is binary entropy of p_A: closest to .5 first (0: .5, 3: .55, 2: .3, 4: .2, 1: .9); ties keep table order.
  assert.deepEqual(pick('maxent: A'), [0, 3, 2, 4, 1]);
  const h = (i: number) => binaryEntropy(probs[2 * i]!) + binaryEntropy(probs[2 * i + 1]!);
  assert.deepEqual(
    pick('max entropy'),
    [0, 1, 2, 3, 4].sort((a, b) => h(b) - h(a)),
  );
  assert.deepEqual(pick('random').sort(), [0, 1, 2, 3, 4]);
  assert.equal(
    pickIndices(t, { subset: 'unlabeled', sort: 'random', count: 9, rng: Rng.fromSeed(1) }).indices.length,
    1,
  );
  for (const sort of sortOptions(classes)) {
    for (const subset of subsetOptions(classes).filter((s) => s !== 'excluded')) {
      const got = pickIndices(t, { subset, sort, count: 9, rng: Rng.fromSeed(5), probs }).indices;
      assert.ok(!got.some((i) => t.exclude[i]), `${subset} / ${sort} returned an excluded row`);
    }
  }
  assert.match(
    pickIndices(t, { subset: 'unlabeled', sort: 'high: A', count: 9, rng: Rng.fromSeed(1) }).note!,
    /no predictions/,
  );
  assert.throws(
    () => pickIndices(t, { subset: 'nope', sort: 'random', count: 1, rng: Rng.fromSeed(1) }),
    /unknown subset/,
  );
});

test('BADGE picks one image per cluster where max entropy would pick one cluster', () => {
  // 4 tight clusters of 10 in 2-D, all equally uncertain; cluster 0 slightly more uncertain than the rest.
  const rng = Rng.fromSeed(11);
  const centres = [
    [5, 0],
    [-5, 0],
    [0, 5],
    [0, -5],
  ];
  const n = 40;
  const h = new Float32Array(n * 2);
  const probs = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / 10);
    h[2 * i] = centres[c]![0]! + rng.normal(0, 0.05);
    h[2 * i + 1] = centres[c]![1]! + rng.normal(0, 0.05);
    probs[i] = c === 0 ? 0.5 : 0.45;
  }
  const chosen = badgeSelect(h, 2, probs, 1, [...Array(n).keys()], 4, Rng.fromSeed(2));
  assert.deepEqual(chosen.map((i) => Math.floor(i / 10)).sort(), [0, 1, 2, 3]);
  const t = emptyTable(n, ['A']);
  const byEntropy = pickIndices(t, {
    subset: 'unlabeled',
    sort: 'maxent: A',
    count: 4,
    rng: Rng.fromSeed(2),
    probs,
  }).indices;
  assert.deepEqual(
    byEntropy.map((i) => Math.floor(i / 10)),
    [0, 0, 0, 0],
  );
});

test('balanced uncertainty: classes take turns, each picking its image closest to p = 0.5; labelled and excluded never', () => {
  const probs = Float32Array.from(
    [
      [0.5, 0.02], // 0: on class a's boundary
      [0.45, 0.02], // 1: near class a's boundary
      [0.3, 0.3], // 2: both classes unsure: the highest summed entropy, but near neither boundary
      [0.02, 0.55], // 3: near class b's boundary
      [0.02, 0.6], // 4
      [0.5, 0.5], // 5: labelled
      [0.5, 0.5], // 6: excluded
    ].flat(),
  );
  const t = tableOf(
    ['a', 'b'],
    [
      [-1, -1],
      [-1, -1],
      [-1, -1],
      [-1, -1],
      [-1, -1],
      [1, 0],
      [-1, -1],
    ],
    {
      exclude: [6],
    },
  );
  const pick = (sort: string, count: number) =>
    pickIndices(t, { subset: 'unlabeled', sort, count, rng: Rng.fromSeed(1), probs }).indices;
  assert.deepEqual(pick('balanced uncertainty', 4), [0, 3, 1, 4]);
  assert.deepEqual(pick('balanced uncertainty', 5), [0, 3, 1, 4, 2]);
  assert.deepEqual(
    pick('balanced uncertainty', 50).sort(),
    [0, 1, 2, 3, 4],
    'capped at the candidates, each once',
  );
  assert.equal(pick('max entropy', 1)[0], 2, 'summed entropy would start with the image near no boundary');
  const cold = pickIndices(t, {
    subset: 'unlabeled',
    sort: 'balanced uncertainty',
    count: 2,
    rng: Rng.fromSeed(1),
  });
  assert.match(cold.note!, /no predictions yet/);
});

test('linear and MLP heads learn a separable multi-label problem; entropy weight lowers unlabeled entropy; state round-trips', () => {
  const rng = Rng.fromSeed(4);
  const n = 400;
  const d = 8;
  const x = rng.fillNormal(new Float32Array(n * d)) as Float32Array;
  const t = emptyTable(n, ['x0>0', 'x1+x2>0']);
  const truth = emptyTable(n, t.classes);
  for (let i = 0; i < n; i++) {
    const a = x[i * d]! > 0 ? 1 : 0;
    const b = x[i * d + 1]! + x[i * d + 2]! > 0 ? 1 : 0;
    truth.labels.set([a, b], i * 2);
    if (i < 100) t.labels.set([a, i % 2 ? b : -1], i * 2); // half of B unknown among the labeled
  }
  const test = [...Array(n - 200).keys()].map((i) => i + 200);
  for (const kind of ['linear', 'mlp'] as const) {
    const head = Head.create({ kind, inputDim: d, numClasses: 2, hidden: 32, seed: 1, learningRate: 1e-2 });
    const res = head.train(x, t, { epochs: 20, samplesPerEpoch: 320, batchSize: 32, rng: Rng.fromSeed(9) });
    assert.ok(res.losses.at(-1)! < res.losses[0]!, `${kind}: loss fell`);
    const m = classMetrics(head.predict(x), truth, test);
    for (const c of m) assert.ok(c.auc > 0.9, `${kind} ${c.name} AUC ${c.auc}`);
    const copy = Head.fromJSON(JSON.parse(JSON.stringify(head.toJSON())));
    assert.deepEqual(
      Array.from(copy.predict(x.subarray(0, d * 5))),
      Array.from(head.predict(x.subarray(0, d * 5))),
    );
    head.dispose();
    copy.dispose();
  }
  const meanEntropy = (w: number) => {
    const head = Head.create({ kind: 'linear', inputDim: d, numClasses: 2, seed: 1, learningRate: 1e-2 });
    const res = head.train(x, t, {
      epochs: 20,
      samplesPerEpoch: 320,
      batchSize: 32,
      entropyWeight: w,
      rng: Rng.fromSeed(9),
    });
    const p = head.predict(x);
    head.dispose();
    let s = 0;
    for (let i = 100 * 2; i < p.length; i++) s += binaryEntropy(p[i]!);
    return { s, res };
  };
  const plain = meanEntropy(0);
  const ent = meanEntropy(1);
  assert.ok(ent.res.entropy.every((v) => v > 0) && plain.res.entropy.every((v) => v === 0));
  assert.ok(ent.s < plain.s, `entropy on unlabeled rows ${ent.s} should be below ${plain.s}`);
});
