// ml/models: shapes and parameter counts against the same networks built with Keras in TF Python; loading user models.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import { initBackend, type Tf } from '../../ml/backend.ts';
import {
  bnAlexNetFcn,
  contextEncoderDecoder,
  contextEncoderDiscriminator,
  contextEncoderEncoder,
  loadFeatureModel,
  smallResNet,
} from '../../ml/models/index.ts';
import { runPythonJson } from '../helpers/python.ts';

let tf: Tf;
before(async () => {
  tf = (await initBackend({ purpose: 'train' })).tf;
});

const outShape = (m: LayersModel, input: number[]) =>
  tf.tidy(() => (m.apply(tf.zeros(input), { training: false }) as Tensor).shape);

test('bnAlexNetFcn and the Context Encoder networks match Keras builds of the original networks', async () => {
  const ref = await runPythonJson<Record<string, { params: number; shape: number[]; bn: number[] }>>(`
import json, tensorflow as tf
L = tf.keras.layers
def bn(): return L.BatchNormalization()  # Keras defaults: momentum 0.99, epsilon 1e-3
def alex(c):
    x = i = tf.keras.Input((None, None, c))
    for f, k, s, pool in [(96, 11, 4, True), (256, 5, 1, True), (384, 3, 1, False), (384, 3, 1, False), (256, 3, 1, True)]:
        x = bn()(L.Conv2D(f, k, s, padding="same", activation="relu")(x))
        if pool: x = L.MaxPooling2D(3, 2)(x)
    return tf.keras.Model(i, x)
def enc(c):
    x = i = tf.keras.Input((None, None, c))
    for f in [64, 64, 128, 256, 512]: x = bn()(L.LeakyReLU(0.2)(L.Conv2D(f, 4, 2, padding="same")(x)))
    return tf.keras.Model(i, x)
def dec(c):
    x = i = tf.keras.Input((None, None, 512))
    for f in [512, 256, 128, 64, 64]: x = bn()(L.Conv2DTranspose(f, 4, 2, padding="same", activation="relu")(x))
    return tf.keras.Model(i, L.Conv2D(c, 3, padding="same", activation="sigmoid")(x))
def disc(c):
    x = i = tf.keras.Input((None, None, c))
    for f in [64, 128, 256, 512]: x = bn()(L.Conv2D(f, 4, 2, padding="same", activation="relu")(x))
    return tf.keras.Model(i, L.Dense(1, activation="sigmoid")(L.GlobalMaxPooling2D()(x)))
out = {}
for name, m, shape in [("alex", alex(3), [1, 256, 256, 3]), ("alex1", alex(1), [1, 200, 160, 1]), ("enc", enc(2), [1, 256, 256, 2]),
                       ("dec", dec(3), [1, 8, 8, 512]), ("disc", disc(3), [2, 64, 64, 3])]:
    bns = [l for l in m.layers if isinstance(l, L.BatchNormalization)]
    out[name] = {"params": int(m.count_params()), "shape": list(m(tf.zeros(shape)).shape), "bn": [bns[0].momentum, bns[0].epsilon, len(bns)]}
print(json.dumps(out))`);
  const ours: [string, LayersModel, number[]][] = [
    ['alex', bnAlexNetFcn({ channels: 3 }), [1, 256, 256, 3]],
    ['alex1', bnAlexNetFcn({ channels: 1 }), [1, 200, 160, 1]],
    ['enc', contextEncoderEncoder({ channels: 2 }), [1, 256, 256, 2]],
    ['dec', contextEncoderDecoder({ channels: 3 }), [1, 8, 8, 512]],
    ['disc', contextEncoderDiscriminator({ channels: 3 }), [2, 64, 64, 3]],
  ];
  for (const [name, model, input] of ours) {
    const r = ref[name]!;
    assert.equal(model.countParams(), r.params, `${name}: parameter count`);
    assert.deepEqual(outShape(model, input), r.shape, `${name}: output shape`);
    const bns = model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
    const cfg = bns[0]!.getConfig();
    assert.deepEqual([cfg.momentum, cfg.epsilon, bns.length], r.bn, `${name}: BN settings`);
    assert.deepEqual(model.inputs[0]!.shape, [null, null, null, input[3]]);
  }
  assert.deepEqual(ref.alex!.shape, [1, 7, 7, 256]); // the reference's own example: 256 -> 7x7x256
});

test('smallResNet is fully convolutional with the requested widths', () => {
  const m = smallResNet({ channels: 3, widths: [8, 16, 32] });
  assert.deepEqual(outShape(m, [2, 64, 64, 3]), [2, 8, 8, 32]); // stem /2, then stages 2 and 3 /2 each
  assert.deepEqual(outShape(m, [1, 48, 80, 3]), [1, 6, 10, 32]);
  assert.ok(!m.layers.some((l) => ['Dense', 'Flatten'].includes(l.getClassName())));
  const two = smallResNet({ channels: 1, widths: [4], blocksPerStage: 2 });
  assert.equal(two.layers.filter((l) => l.getClassName() === 'Add').length, 2);
  assert.throws(() => smallResNet({ channels: 3, widths: [] }), /widths/);
});

test('loadFeatureModel loads a saved fully convolutional model and rejects heads and wrong channels', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'patchwork-models-'));
  try {
    const fcn = smallResNet({ channels: 3, widths: [4, 8] });
    await fcn.save(`file://${join(dir, 'fcn')}`);
    const loaded = await loadFeatureModel(join(dir, 'fcn'), { channels: 3 });
    const x = tf.randomNormal([1, 16, 16, 3], 0, 1, 'float32', 5);
    assert.deepEqual(
      (loaded.predict(x) as Tensor).dataSync(),
      (fcn.predict(x) as Tensor).dataSync(),
      'same outputs after the round trip',
    );
    await assert.rejects(
      loadFeatureModel(`file://${join(dir, 'fcn')}/model.json`, { channels: 1 }),
      /3 input channels but the data has 1/,
    );

    const input = tf.input({ shape: [32, 32, 3] });
    let h = tf.layers.conv2d({ filters: 4, kernelSize: 3 }).apply(input) as SymbolicTensor;
    h = tf.layers.flatten({ name: 'flat' }).apply(h) as SymbolicTensor;
    h = tf.layers.dense({ units: 10, name: 'logits' }).apply(h) as SymbolicTensor;
    await tf.model({ inputs: input, outputs: h }).save(`file://${join(dir, 'classifier')}`);
    await assert.rejects(
      loadFeatureModel(join(dir, 'classifier'), { channels: 3 }),
      /not fully convolutional: it contains flat \(Flatten\), logits \(Dense\)/,
    );
    await assert.rejects(
      loadFeatureModel(join(dir, 'nothing-here'), { channels: 3 }),
      /could not load a tfjs LayersModel/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
