// ml/kernels/native: each native gradient against tfjs's own gradient and against TF Python (GradientTape).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor } from '@tensorflow/tfjs';
import { activeTf, initBackend, type Tf } from '../../ml/backend.ts';
import {
  FUSED_BN_TRAIN,
  installNativeKernels,
  nativeKernelsInstalled,
  uninstallNativeKernels,
} from '../../ml/kernels/native/index.ts';
import { Rng } from '../../ml/rng.ts';
import { runPythonJson } from '../helpers/python.ts';

let tf: Tf;
before(async () => {
  tf = (await initBackend({ purpose: 'train', force: 'tensorflow' })).tf;
});
after(() => uninstallNativeKernels());

function normal(seed: number, n: number): number[] {
  const rng = Rng.fromSeed(seed);
  return Array.from({ length: n }, () => rng.normal());
}
function relErr(a: Float32Array | number[], b: Float32Array | number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-12);
}

/** Gradients of sum(f(x, ...params) * w) w.r.t. x and params, with tfjs's kernels or ours. */
function grads(native: boolean, f: (args: Tensor[]) => Tensor, inputs: Tensor[], w: Tensor): Float32Array[] {
  if (native) assert.equal(installNativeKernels(), true);
  else uninstallNativeKernels();
  assert.equal(nativeKernelsInstalled(), native);
  const g = tf.grads((...args: Tensor[]) => tf.sum(tf.mul(f(args), w)))(inputs);
  return g.map((t) => t.dataSync() as Float32Array);
}

const shape = [4, 5, 6, 3];
const size = shape.reduce((a, b) => a * b);

test('ReluGrad (native) matches tfjs and TF Python', async () => {
  // Half the values negative; none exactly 0, where the subgradient convention could differ.
  const xs = normal(1, size);
  const ws = normal(2, size);
  const x = tf.tensor(xs, shape);
  const w = tf.tensor(ws, shape);
  const [ours] = grads(true, ([a]) => tf.relu(a!), [x], w);
  const [theirs] = grads(false, ([a]) => tf.relu(a!), [x], w);
  assert.ok(relErr(ours!, theirs!) <= 1e-4, `vs tfjs: ${relErr(ours!, theirs!)}`);
  const py = await runPythonJson<number[]>(
    `import json, sys, tensorflow as tf
d = json.loads(sys.argv[1]); x = tf.constant(d["x"], shape=d["shape"]); w = tf.constant(d["w"], shape=d["shape"])
with tf.GradientTape() as t:
    t.watch(x); y = tf.reduce_sum(tf.nn.relu(x) * w)
print(json.dumps(t.gradient(y, x).numpy().ravel().tolist()))`,
    { input: { x: xs, w: ws, shape } },
  );
  assert.ok(relErr(ours!, py) <= 1e-4, `vs TF Python: ${relErr(ours!, py)}`);
  // Nonzero where x > 0 only, equal to w there: the test can tell a wrong mask.
  assert.ok(
    ours!.some((v, i) => xs[i]! < 0 && v === 0) &&
      ours!.some((v, i) => xs[i]! > 0 && v === Math.fround(ws[i]!)),
  );
});

test('fused BatchNorm training (forward, moving stats, gradients) matches tfjs and TF Python', async () => {
  const xs = normal(3, size).map((v, i) => 2 * v + (i % 3)); // per-channel offsets so the mean matters
  const ws = normal(4, size);
  const gammas = [1.5, 0.5, -1];
  const betas = [0.1, -0.2, 0.3];
  const run = (native: boolean) => {
    if (native) installNativeKernels();
    else uninstallNativeKernels();
    const layer = tf.layers.batchNormalization({ momentum: 0.99, epsilon: 1e-3 });
    layer.build([null, null, null, 3]);
    layer.setWeights([tf.tensor1d(gammas), tf.tensor1d(betas), tf.zeros([3]), tf.ones([3])]);
    const x = tf.tensor(xs, shape);
    const w = tf.tensor(ws, shape);
    const xv = tf.variable(x);
    const [gamma, beta] = layer.trainableWeights.map(
      (v) => (v as unknown as { val: import('@tensorflow/tfjs').Variable }).val,
    );
    let y!: Tensor;
    const { grads: g } = tf.variableGrads(() => {
      y = tf.keep(layer.apply(xv, { training: true }) as Tensor);
      return tf.sum(tf.mul(y, w));
    }, [xv, gamma!, beta!]);
    const [, , movingMean, movingVar] = layer.getWeights();
    return {
      y: y.dataSync() as Float32Array,
      dx: g[xv.name]!.dataSync() as Float32Array,
      dgamma: g[gamma!.name]!.dataSync() as Float32Array,
      dbeta: g[beta!.name]!.dataSync() as Float32Array,
      movingMean: movingMean!.dataSync() as Float32Array,
      movingVar: movingVar!.dataSync() as Float32Array,
    };
  };
  const ours = run(true);
  // The native path really ran (not a silent fallback to tfjs's BatchNormalization).
  installNativeKernels();
  const probe = tf.layers.batchNormalization({});
  const prof = await tf.profile(() => probe.apply(tf.tensor(xs, shape), { training: true }) as Tensor);
  assert.ok(prof.kernelNames.includes(FUSED_BN_TRAIN), `kernels run: ${prof.kernelNames.join(', ')}`);
  const theirs = run(false);
  for (const k of Object.keys(ours) as (keyof typeof ours)[]) {
    assert.ok(relErr(ours[k], theirs[k]) <= 1e-4, `${k} vs tfjs: ${relErr(ours[k], theirs[k])}`);
  }
  const py = await runPythonJson<Record<string, number[]>>(
    `import json, sys, tensorflow as tf
d = json.loads(sys.argv[1]); x = tf.constant(d["x"], shape=d["shape"]); w = tf.constant(d["w"], shape=d["shape"])
bn = tf.keras.layers.BatchNormalization(momentum=0.99, epsilon=1e-3); bn.build(d["shape"])
bn.set_weights([tf.constant(d["gamma"]), tf.constant(d["beta"]), tf.zeros([3]), tf.ones([3])])
with tf.GradientTape() as t:
    t.watch(x); y = bn(x, training=True); loss = tf.reduce_sum(y * w)
dx, dg, db = t.gradient(loss, [x, bn.gamma, bn.beta])
out = {"y": y, "dx": dx, "dgamma": dg, "dbeta": db, "movingMean": bn.moving_mean, "movingVar": bn.moving_variance}
print(json.dumps({k: tf.reshape(v, [-1]).numpy().tolist() for k, v in out.items()}))`,
    { input: { x: xs, w: ws, shape, gamma: gammas, beta: betas } },
  );
  for (const k of Object.keys(ours) as (keyof typeof ours)[]) {
    assert.ok(relErr(ours[k], py[k]!) <= 1e-4, `${k} vs TF Python: ${relErr(ours[k], py[k]!)}`);
  }
});

test('installNativeKernels refuses other backends and leaves them alone', () => {
  uninstallNativeKernels();
  assert.equal(activeTf().getBackend(), 'tensorflow');
  const fake = { getBackend: () => 'wasm' } as unknown as Tf;
  assert.equal(installNativeKernels(fake), false);
  assert.equal(nativeKernelsInstalled(), false);
});

test('Step (native, alpha 0) matches tfjs-node, NaN and 0 included, and a Conv2D+ReLU layer trains the same', () => {
  const values = [-2, -0, 0, 1e-30, 3, Number.NaN, -Number.MIN_VALUE, 7];
  const run = (native: boolean) => {
    if (native) installNativeKernels();
    else uninstallNativeKernels();
    const steps = Array.from(tf.step(tf.tensor1d(values)).dataSync());
    const leaky = Array.from(tf.step(tf.tensor1d(values), 0.5).dataSync());
    const layer = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) });
    const x = tf.tensor(normal(5, size), shape);
    layer.apply(x);
    const w = tf.tensor(normal(6, 4 * 5 * 6 * 4), [4, 5, 6, 4]);
    const { grads: g } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x) as Tensor, w)) as never, layer.trainableWeights.map((v) => (v as unknown as { val: never }).val));
    return { steps, leaky, grads: Object.values(g).map((t) => t.dataSync() as Float32Array) };
  };
  const ours = run(true);
  const theirs = run(false);
  assert.deepEqual(ours.steps, theirs.steps);
  assert.deepEqual(ours.steps.slice(0, 5), [0, 0, 0, 1, 1]);
  assert.ok(Number.isNaN(ours.steps[5]));
  assert.deepEqual(ours.leaky, theirs.leaky);
  assert.equal(ours.grads.length, 2);
  ours.grads.forEach((g, i) => assert.ok(relErr(g, theirs.grads[i]!) <= 1e-5, `weight ${i}: ${relErr(g, theirs.grads[i]!)}`));
});
