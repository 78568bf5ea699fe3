// The round's heads: the default logistic head (scaler, balanced classes, C by validation or cross-validation) and the
// stochastic-gradient heads' scaler, weight decay and validation early stopping; and the 'rare first' ordering.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { activeTf, initBackend } from '../../ml/backend.ts';
import { checkHeadOptions } from '../../ml/active/head-options.ts';
import { maskedMeanAbsoluteError } from '../../ml/active/losses.ts';
import { rocAuc } from '../../ml/active/metrics.ts';
import {
  balancedUncertainty,
  classMetrics,
  emptyTable,
  fitLogistic,
  fitRoundHead,
  Head,
  loadRoundHead,
  LogisticHead,
  pickIndices,
  rareFirst,
  shortClasses,
  Standardizer,
  type LabelTable,
  type LogisticHeadState,
} from '../../ml/active/index.ts';
import { Rng } from '../../ml/rng.ts';

before(async () => {
  await initBackend({ purpose: 'train' });
});

/**
 * n points in d dims; class c is present when feature c (plus noise) is high. Class 2 is rare. The features are
 * shifted and scaled far from unit variance, so an unscaled head would see one feature dominate.
 */
function problem(n: number, seed = 1) {
  const d = 6;
  const k = 3;
  const rng = Rng.fromSeed(seed);
  const x = new Float32Array(n * d);
  const truth = new Int8Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x[i * d + j] = rng.normal() * (j === 5 ? 1000 : 1) + (j === 4 ? 50 : 0);
    truth[i * k + 0] = x[i * d + 0]! + 0.5 * rng.normal() > 0 ? 1 : 0;
    truth[i * k + 1] = x[i * d + 1]! + 0.5 * rng.normal() > 0 ? 1 : 0;
    truth[i * k + 2] = x[i * d + 2]! + 0.3 * rng.normal() > 1.6 ? 1 : 0;
  }
  return { x, truth, d, k, classes: ['a', 'b', 'rare'] };
}

function labelRows(p: ReturnType<typeof problem>, rows: number[]): LabelTable {
  const t = emptyTable(p.x.length / p.d, p.classes);
  for (const i of rows) t.labels.set(p.truth.subarray(i * p.k, i * p.k + p.k), i * p.k);
  return t;
}

test('fitLogistic reaches the optimum of each column: the penalised gradient vanishes', () => {
  const p = problem(200);
  const n = 200;
  const s = Standardizer.fit(p.x, p.d);
  const x = s.transform(p.x);
  const m = 2;
  const targets = new Float32Array(n * m);
  const weights = new Float32Array(n * m).fill(1);
  for (let i = 0; i < n; i++) {
    targets[i * m] = p.truth[i * p.k]!;
    targets[i * m + 1] = p.truth[i * p.k + 1]!;
  }
  const lambdas = Float32Array.from([0.1, 0.01]);
  const sol = fitLogistic({ x, n, d: p.d, targets, weights, lambdas, iterations: 500 });
  for (let j = 0; j < m; j++) {
    const grad = new Float64Array(p.d + 1);
    for (let i = 0; i < n; i++) {
      let z = sol.b[j]!;
      for (let t = 0; t < p.d; t++) z += x[i * p.d + t]! * sol.w[t * m + j]!;
      const r = (1 / (1 + Math.exp(-z)) - targets[i * m + j]!) / n;
      for (let t = 0; t < p.d; t++) grad[t] += r * x[i * p.d + t]!;
      grad[p.d] += r;
    }
    for (let t = 0; t < p.d; t++) grad[t] += lambdas[j]! * sol.w[t * m + j]!;
    const norm = Math.sqrt(grad.reduce((a, g) => a + g * g, 0));
    assert.ok(norm < 1e-4, `column ${j}: gradient norm ${norm}`);
  }
});

test('logistic head: standardised, C chosen per class, rare class balanced; state round-trips bit for bit', () => {
  const p = problem(600);
  const labelled = Array.from({ length: 150 }, (_, i) => i);
  const table = labelRows(p, labelled);
  const head = LogisticHead.fit(p.x, table, { seed: 3 });
  const state = head.toJSON();
  assert.equal(state.scaler.mean.length, p.d);
  assert.ok(
    Math.abs(state.scaler.mean[4]! - 50) < 1 && state.scaler.scale[5]! > 500,
    'scaler fitted on every row',
  );
  assert.deepEqual(state.selectedBy.slice(0, 2), ['cross-validation', 'cross-validation']);
  const probs = head.predict(p.x);
  const held = Array.from({ length: 450 }, (_, i) => 150 + i);
  const metrics = classMetrics(probs, labelRows(p, held), held);
  for (const m of metrics) assert.ok(m.auc > 0.9, `${m.name}: AUC ${m.auc} on unlabelled rows`);
  const again = loadRoundHead(JSON.parse(JSON.stringify(state)) as LogisticHeadState);
  assert.deepEqual(again.predict(p.x), probs, 'reloaded head predicts the same bytes');
  // The same inputs give the same head: rounds can be recomputed.
  assert.deepEqual(LogisticHead.fit(p.x, table, { seed: 3 }).toJSON(), state);
});

test('logistic head: validation labels choose C; a class with one positive borrows C; one without positives is constant', () => {
  const p = problem(400, 2);
  const table = labelRows(
    p,
    Array.from({ length: 200 }, (_, i) => i),
  );
  for (let i = 100; i < 200; i++) table.validation[i] = 1;
  const k = p.k;
  // Leave the rare class one positive among training rows, and none in another copy.
  const rarePositives = Array.from({ length: 100 }, (_, i) => i).filter((i) => table.labels[i * k + 2] === 1);
  assert.ok(rarePositives.length >= 2, 'the fixture has rare positives to remove');
  for (const i of rarePositives.slice(1)) table.labels[i * k + 2] = 0;
  for (let i = 100; i < 200; i++) table.labels[i * k + 2] = -1; // and no validation answer for it
  const state = LogisticHead.fit(p.x, table, { seed: 1 }).toJSON();
  assert.deepEqual(state.selectedBy, ['validation', 'validation', 'fallback']);
  const chosen = [state.c[0]!, state.c[1]!];
  const geometric = Math.exp((Math.log(chosen[0]!) + Math.log(chosen[1]!)) / 2);
  assert.ok(Math.abs(state.c[2]! - geometric) < 1e-9 * geometric, 'fallback C is the geometric mean');
  table.labels[rarePositives[0]! * k + 2] = 0;
  const constant = LogisticHead.fit(p.x, table, { seed: 1 });
  assert.equal(constant.toJSON().selectedBy[2], 'constant');
  const probs = constant.predict(p.x);
  assert.ok(new Set(Array.from({ length: 400 }, (_, i) => probs[i * k + 2])).size === 1);
});

test('stochastic-gradient head: scaler and weight decay in its state, the best validation epoch kept', () => {
  const p = problem(300);
  const table = labelRows(
    p,
    Array.from({ length: 200 }, (_, i) => i),
  );
  for (let i = 150; i < 200; i++) table.validation[i] = 1;
  const fit = (weightDecay: number) =>
    fitRoundHead({
      features: p.x,
      table,
      options: { kind: 'linear', epochs: 6, samplesPerEpoch: 200, learningRate: 0.05, weightDecay },
      seed: 4,
    });
  const plain = fit(0);
  const state = plain.head.toJSON() as ReturnType<Head['toJSON']>;
  assert.equal(state.scaler!.mean.length, p.d, 'the scaler is saved with the weights');
  const reloaded = loadRoundHead(JSON.parse(JSON.stringify(state)));
  assert.deepEqual(reloaded.predict(p.x), plain.head.predict(p.x));
  const decayed = fit(1).head.toJSON() as ReturnType<Head['toJSON']>;
  const norm = (s: typeof state) => Math.hypot(...s.weights[0]!);
  assert.ok(
    norm(decayed) < 0.5 * norm(state),
    `weight decay shrinks the weights: ${norm(decayed)} vs ${norm(state)}`,
  );
  // Early stopping: the kept weights are those of the epoch with the lowest validation loss.
  const head = Head.create({ kind: 'linear', inputDim: p.d, numClasses: p.k, seed: 1, learningRate: 0.5 });
  const result = head.train(p.x, table, { epochs: 6, samplesPerEpoch: 100, rng: Rng.fromSeed(1) });
  assert.equal(result.validationLosses.length, 6);
  const best = result.validationLosses.indexOf(Math.min(...result.validationLosses));
  assert.equal(result.keptEpoch, best);
  head.dispose();
  assert.throws(
    () => fitRoundHead({ features: p.x, table, options: { kind: 'linear', labelSmoothing: 1 }, seed: 1 }),
    /labelSmoothing must be below 1/,
  );
});

test("'rare first': half the batch goes to classes short of positives (highest probability), the rest is balanced uncertainty", () => {
  assert.deepEqual(shortClasses([40, 2, 38, 0]), [3, 1], 'fewer than half the mean count, rarest first');
  assert.deepEqual(shortClasses([10, 9, 11]), []);
  const n = 50;
  const k = 3;
  const rng = Rng.fromSeed(5);
  const probs = new Float32Array(n * k);
  for (let i = 0; i < probs.length; i++) probs[i] = rng.uniform();
  const candidates = Array.from({ length: n }, (_, i) => i);
  const picks = rareFirst(probs, k, candidates, 10, [30, 1, 25], Rng.fromSeed(1));
  const byRare = candidates.slice().sort((a, b) => probs[b * k + 1]! - probs[a * k + 1]!);
  assert.deepEqual(picks.slice(0, 5), byRare.slice(0, 5), 'the rare class takes its 5 most probable images');
  assert.equal(new Set(picks).size, 10);
  const rest = candidates.filter((i) => !picks.slice(0, 5).includes(i));
  assert.deepEqual(
    new Set(picks.slice(5)),
    new Set(balancedUncertainty(probs, k, rest, 5)),
    'the other half is balanced uncertainty',
  );
  // Without a short class it is balanced uncertainty alone; through pickIndices it never queues labelled rows.
  const even = rareFirst(probs, k, candidates, 10, [10, 10, 10], Rng.fromSeed(1));
  assert.deepEqual(new Set(even), new Set(balancedUncertainty(probs, k, candidates, 10)));
  const table = emptyTable(n, ['a', 'b', 'c']);
  table.labels.fill(0, 0, 3 * 20);
  for (let i = 0; i < 20; i++) table.labels[i * 3] = 1;
  const queued = pickIndices(table, {
    subset: 'unlabeled',
    sort: 'rare first',
    count: 10,
    rng: Rng.fromSeed(2),
    probs,
  });
  assert.ok(queued.indices.every((i) => i >= 20));
});

test('logistic head with more labels than the selection sample: C still chosen per class, every label fitted', () => {
  const p = problem(2600, 4);
  const table = labelRows(p, Array.from({ length: 2500 }, (_, i) => i));
  const head = LogisticHead.fit(p.x, table, { seed: 2 });
  assert.deepEqual(head.toJSON().selectedBy, ['cross-validation', 'cross-validation', 'cross-validation']);
  const held = Array.from({ length: 100 }, (_, i) => 2500 + i);
  for (const m of classMetrics(head.predict(p.x), labelRows(p, held), held))
    assert.ok(m.auc > 0.85, `${m.name}: AUC ${m.auc}`);
});

test("cosine output (the original's CosineDense with masked MAE): probabilities in [0, 1] that rank the classes, state round-trips", () => {
  const p = problem(400, 3);
  const table = labelRows(p, Array.from({ length: 300 }, (_, i) => i));
  for (const kind of ['linear', 'mlp'] as const) {
    const { head } = fitRoundHead({
      features: p.x,
      table,
      options: { kind, output: 'cosine', epochs: 8, samplesPerEpoch: 400, learningRate: 0.02, hidden: 16 },
      seed: 2,
    });
    const probs = head.predict(p.x);
    assert.ok(probs.every((v) => v >= 0 && v <= 1), 'outputs are 0.5 (cos + 1)');
    const held = Array.from({ length: 100 }, (_, i) => 300 + i);
    // The linear head must rank every class; the MLP's extra layer makes 8 short epochs too noisy to demand it.
    for (let c = 0; c < (kind === 'linear' ? p.k : 0); c++) {
      const auc = rocAuc(held.map((i) => probs[i * p.k + c]!), held.map((i) => p.truth[i * p.k + c]!));
      assert.ok(auc > 0.8, `${kind} class ${c}: held-out AUC ${auc} (chance is 0.5)`);
    }
    const state = JSON.parse(JSON.stringify(head.toJSON()));
    assert.equal(state.config.output, 'cosine');
    assert.deepEqual(loadRoundHead(state).predict(p.x), probs);
    head.dispose();
  }
  assert.throws(() => checkHeadOptions({ kind: 'linear', output: 'tanh' as never }), /head output "tanh" is unknown; use one of sigmoid, cosine/);
});

test('masked mean absolute error counts known labels only', () => {
  const tf = activeTf();
  const y = tf.tensor2d([[1, -1], [0, 1]], [2, 2], 'int32');
  const pr = tf.tensor2d([[0.75, 0.1], [0.5, 1]], [2, 2]);
  assert.ok(Math.abs(maskedMeanAbsoluteError(y, pr).dataSync()[0]! - (0.25 + 0.5 + 0) / 3) < 1e-6);
});
