// ml/kernels/wasm: the kernels registered for the wasm backend against the pure-JavaScript 'cpu' backend (tfjs's
// reference implementation) on the same inputs, and one training step of every model on wasm against cpu.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayersModel, Scalar, SymbolicTensor, Tensor, Tensor4D, Variable } from '@tensorflow/tfjs';
import { initBackend, type Tf } from '../../ml/backend.ts';
import {
  installedWasmKernels,
  installWasmKernels,
  uninstallWasmKernels,
} from '../../ml/kernels/wasm/index.ts';
import { channelWiseDense } from '../../ml/methods/context-encoder.ts';
import {
  bnAlexNetFcn,
  contextEncoderDecoder,
  contextEncoderDiscriminator,
  contextEncoderEncoder,
  smallResNet,
} from '../../ml/models/index.ts';
import { Rng } from '../../ml/rng.ts';

let tf: Tf;
before(async () => {
  tf = (await initBackend({ purpose: 'train', force: 'wasm' })).tf;
});
after(() => uninstallWasmKernels());

function normal(seed: number, n: number): Float32Array {
  const rng = Rng.fromSeed(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}
const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** max |a - b| / max |b|: b is the cpu reference. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-12);
}

/** Runs f with `backend` active (tensors made elsewhere move over on first use), then goes back to wasm. */
function on<T>(backend: 'cpu' | 'wasm', f: () => T): T {
  tf.setBackend(backend);
  try {
    return f();
  } finally {
    tf.setBackend('wasm');
  }
}

/** Gradients of sum(f(inputs) * w) with respect to every input, as arrays, on one backend. */
function gradsOn(
  backend: 'cpu' | 'wasm',
  f: (args: Tensor[]) => Tensor,
  data: { v: Float32Array; shape: number[] }[],
  wSeed: number,
) {
  return on(backend, () =>
    tf.tidy(() => {
      const inputs = data.map((d) => tf.tensor(d.v, d.shape));
      const y0 = f(inputs);
      const w = tf.tensor(normal(wSeed, y0.size), y0.shape);
      const g = tf.grads((...args: Tensor[]) => tf.sum(tf.mul(f(args), w)))(inputs);
      return g.map((t) => t.dataSync().slice());
    }),
  );
}

test('without the kernels wasm cannot train a conv; installWasmKernels adds Conv2DBackpropFilter, idempotently', () => {
  uninstallWasmKernels();
  const x = tf.randomNormal([1, 5, 5, 2]);
  const f = tf.variable(tf.randomNormal([3, 3, 2, 2]));
  const step = () =>
    tf.tidy(() =>
      tf.variableGrads(() => tf.sum(tf.conv2d(x as Tensor4D, f as unknown as Tensor4D, 1, 'same'))),
    );
  assert.throws(step, /Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'/);
  assert.equal(installWasmKernels(), true);
  assert.equal(installWasmKernels(), true);
  assert.deepEqual(installedWasmKernels(), ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad']);
  const before = tf.memory().numTensors;
  const { value, grads } = step();
  tf.dispose([value, ...Object.values(grads)]);
  assert.equal(tf.memory().numTensors, before, 'no tensor leaked by the kernel');
  // No-op on another backend.
  assert.equal(
    on('cpu', () => installWasmKernels()),
    false,
  );
  tf.dispose([x, f]);
});

type Pad = 'same' | 'valid' | number[][];
const convCases: { x: number[]; f: number[]; s: number | [number, number]; pad: Pad }[] = [
  { x: [2, 9, 11, 3], f: [3, 3, 3, 4], s: 1, pad: 'same' },
  { x: [2, 9, 11, 3], f: [3, 3, 3, 4], s: 1, pad: 'valid' },
  { x: [2, 9, 11, 3], f: [3, 3, 3, 5], s: 2, pad: 'same' },
  { x: [2, 10, 10, 3], f: [3, 3, 3, 5], s: 2, pad: 'valid' },
  { x: [3, 8, 8, 4], f: [4, 4, 4, 6], s: 2, pad: 'same' }, // context encoder: k4 s2 same
  { x: [1, 12, 13, 2], f: [5, 3, 2, 3], s: [2, 1], pad: 'same' },
  { x: [2, 7, 6, 3], f: [1, 1, 3, 4], s: 2, pad: 'valid' }, // resnet projection
  {
    x: [2, 8, 9, 2],
    f: [3, 3, 2, 3],
    s: 1,
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  {
    x: [2, 9, 8, 2],
    f: [3, 2, 2, 3],
    s: 2,
    pad: [
      [0, 0],
      [2, 0],
      [1, 1],
      [0, 0],
    ],
  },
  { x: [2, 35, 35, 3], f: [11, 11, 3, 4], s: 4, pad: 'same' }, // AlexNet conv1: k11 s4
];

test('Conv2DBackpropFilter and Conv2DBackpropInput (wasm) match cpu: strides 1, 2, 4, (2, 1); same, valid, explicit padding', () => {
  installWasmKernels();
  convCases.forEach((c, i) => {
    const data = [
      { v: normal(10 + i, sizeOf(c.x)), shape: c.x },
      { v: normal(50 + i, sizeOf(c.f)), shape: c.f },
    ];
    const conv = ([x, f]: Tensor[]) => tf.conv2d(x as Tensor4D, f as Tensor4D, c.s, c.pad as 'same');
    const [dxW, dfW] = gradsOn('wasm', conv, data, 90 + i);
    const [dxC, dfC] = gradsOn('cpu', conv, data, 90 + i);
    const label = JSON.stringify(c);
    assert.ok(relErr(dfW!, dfC!) <= 1e-4, `dFilter ${label}: ${relErr(dfW!, dfC!)}`);
    assert.ok(relErr(dxW!, dxC!) <= 1e-4, `dx ${label}: ${relErr(dxW!, dxC!)}`);
  });
});

test("MaxPoolGrad matches cpu (wasm's own does not); conv2dTranspose and its gradients match cpu", () => {
  installWasmKernels();
  const x = { v: normal(3, 2 * 11 * 12 * 3), shape: [2, 11, 12, 3] };
  // Normal values: some windows are all negative; wasm's own MaxPoolGrad gets those wrong (their dy is lost).
  // Rounded values: ties inside windows; the first max in row-major window order gets dy, as on cpu.
  const ties = { v: x.v.map((v) => Math.round(v)), shape: x.shape };
  const cases: [number | [number, number], number | [number, number], 'same' | 'valid'][] = [
    [3, 2, 'valid'],
    [2, 2, 'same'],
    [3, 1, 'same'],
    [2, 2, 'valid'],
    [[3, 2], [1, 2], 'same'],
  ];
  for (const [size, s, pad] of cases) {
    const pool = ([a]: Tensor[]) => tf.maxPool(a as Tensor4D, size, s, pad);
    for (const input of [x, ties]) {
      const [w] = gradsOn('wasm', pool, [input], 7);
      const [c] = gradsOn('cpu', pool, [input], 7);
      assert.ok(relErr(w!, c!) <= 1e-4, `maxPool ${JSON.stringify([size, s, pad])}: ${relErr(w!, c!)}`);
    }
  }
  // The wasm backend's own MaxPoolGrad, for the record: wrong on the same inputs.
  uninstallWasmKernels();
  const pool = ([a]: Tensor[]) => tf.maxPool(a as Tensor4D, 2, 2, 'same');
  const [own] = gradsOn('wasm', pool, [x], 7);
  const [ref] = gradsOn('cpu', pool, [x], 7);
  assert.ok(relErr(own!, ref!) > 0.1, 'wasm fixed its MaxPoolGrad; the replacement may be dropped');
  installWasmKernels();
  const y = { v: normal(4, 2 * 4 * 5 * 6), shape: [2, 4, 5, 6] };
  const f = { v: normal(5, 4 * 4 * 3 * 6), shape: [4, 4, 3, 6] };
  const deconv = ([a, k]: Tensor[]) =>
    tf.conv2dTranspose(a as Tensor4D, k as Tensor4D, [2, 8, 10, 3], 2, 'same');
  const gw = gradsOn('wasm', deconv, [y, f], 8);
  const gc = gradsOn('cpu', deconv, [y, f], 8);
  gw.forEach((g, i) =>
    assert.ok(relErr(g, gc[i]!) <= 1e-4, `conv2dTranspose grad ${i}: ${relErr(g, gc[i]!)}`),
  );
});

/** Gradients of mean(model(x)^2) for every trainable weight, in training mode, on one backend. */
function modelGrads(
  backend: 'cpu' | 'wasm',
  model: LayersModel,
  x: Float32Array,
  shape: number[],
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  on(backend, () =>
    tf.tidy(() => {
      const input = tf.tensor(x, shape);
      const vars = model.trainableWeights.map((w) => w.read() as Variable);
      const { grads } = tf.variableGrads(
        () => tf.mean(tf.square(model.apply(input, { training: true }) as Tensor)) as Scalar,
        vars,
      );
      for (const [name, g] of Object.entries(grads)) out.set(name, g.dataSync().slice() as Float32Array);
    }),
  );
  return out;
}

function checkModel(name: string, model: LayersModel, shape: number[]) {
  installWasmKernels();
  const x = normal(123, sizeOf(shape));
  // BatchNormalization's moving statistics change on every training call; the gradients do not depend on them.
  modelGrads('wasm', model, x, shape); // first call builds the layers' weights
  // Fixed weights, so the check is the same every run (random ones occasionally put two max-pool candidates within
  // float rounding of each other, and then the backends may route a gradient differently).
  model.setWeights(
    model.weights.map((w, i) => {
      const base = /gamma|moving_variance/.test(w.name) ? 1 : 0;
      return tf.tensor(normal(1000 + i, sizeOf(w.shape as number[])).map((v) => base + 0.1 * v), w.shape as number[]);
    }),
  );
  const tensors = tf.memory().numTensors;
  const wasm = modelGrads('wasm', model, x, shape);
  assert.equal(tf.memory().numTensors, tensors, `${name}: no tensor leaked by a training step on wasm`);
  const cpu = modelGrads('cpu', model, x, shape);
  assert.deepEqual([...wasm.keys()].sort(), [...cpu.keys()].sort());
  assert.equal(wasm.size, model.trainableWeights.length);
  for (const [weight, g] of wasm) {
    // Each kernel is checked at 1e-4 above; a whole network stacks ~20 float32 layers (BatchNorm included) whose
    // sums the two backends accumulate in different orders, so the end-to-end bound is 5e-4.
    const err = relErr(g, cpu.get(weight)!);
    assert.ok(err <= 5e-4, `${name} ${weight}: relative error ${err}`);
  }
  model.dispose();
}

test('one training step on wasm gives the cpu gradients: bnAlexNetFcn + dense head', () => {
  const fcn = bnAlexNetFcn({ channels: 3 });
  const input = tf.input({ shape: [64, 64, 3] });
  let y = fcn.apply(input) as SymbolicTensor;
  y = tf.layers.flatten().apply(y) as SymbolicTensor;
  y = tf.layers.dense({ units: 5 }).apply(y) as SymbolicTensor;
  checkModel('bnAlexNetFcn', tf.model({ inputs: input, outputs: y }), [2, 64, 64, 3]);
});

test('one training step on wasm gives the cpu gradients: smallResNet', () => {
  checkModel('smallResNet', smallResNet({ channels: 3, widths: [8, 16, 16] }), [2, 32, 32, 3]);
});

test('one training step on wasm gives the cpu gradients: context encoder inpainter and discriminator', () => {
  const encoder = contextEncoderEncoder({ channels: 3, filters: [8, 8, 16] });
  const decoder = contextEncoderDecoder({ channels: 3, inputChannels: 16, filters: [16, 8, 8] });
  const input = tf.input({ shape: [32, 32, 3] });
  let y = encoder.apply(input) as SymbolicTensor;
  y = channelWiseDense({ seed: 1 }).apply(y) as SymbolicTensor;
  y = decoder.apply(y) as SymbolicTensor;
  checkModel('inpainter', tf.model({ inputs: input, outputs: y }), [2, 32, 32, 3]);
  checkModel(
    'discriminator',
    contextEncoderDiscriminator({ channels: 3, filters: [8, 16, 16] }),
    [2, 32, 32, 3],
  );
});
