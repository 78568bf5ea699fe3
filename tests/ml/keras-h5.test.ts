// Keras models saved as .h5 by TensorFlow's own Keras 2 (tf_keras, the original's format) and Keras 3, loaded through
// HDF5 into tfjs: same outputs as Keras on the same input.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { activeTf, initBackend } from '../../ml/backend.ts';
import { loadKerasH5 } from '../../ml/models/keras-h5.ts';
import { loadFeatureModel } from '../../ml/models/load.ts';
import { runPythonJson } from '../helpers/python.ts';

const dir = mkdtempSync(join(tmpdir(), 'patchwork-h5-'));

const SAVE_MODELS = `
import json, sys
import numpy as np
args = json.loads(sys.argv[1])
out = {}
for flavour in ['keras2', 'keras3']:
    if flavour == 'keras2':
        import tf_keras as keras
    else:
        import keras
    rng = np.random.default_rng(7)
    def randomise(model):
        for layer in model.layers:
            weights = layer.get_weights()
            if weights:
                layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype('float32') if 'variance' in v.name
                                   else rng.normal(0, 0.5, w.shape).astype('float32')
                                   for w, v in zip(weights, layer.weights)])
    inp = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, activation='relu')(inp)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.SeparableConv2D(6, 3, padding='same', activation='relu')(x)
    extractor = keras.Model(inp, x)
    randomise(extractor)
    extractor.save(f"{args['dir']}/{flavour}-extractor.h5")
    x_in = np.linspace(-1, 1, 2 * 16 * 16 * 3).reshape(2, 16, 16, 3).astype('float32')
    features = extractor.predict(x_in, verbose=0).tolist()
    head = keras.layers.Dense(4)(keras.layers.GlobalAveragePooling2D()(extractor.output))
    classifier = keras.Model(inp, head)
    randomise(classifier)
    classifier.save(f"{args['dir']}/{flavour}-classifier.h5")
    classifier.save_weights(f"{args['dir']}/{flavour}-classifier.weights.h5")
    out[flavour] = {'extractor': features,
                    'classifier': classifier.predict(x_in, verbose=0).tolist()}
print(json.dumps(out))
`;

type Outputs = Record<'keras2' | 'keras3', { extractor: number[][][][]; classifier: number[][] }>;
let expected: Outputs;

before(async () => {
  await initBackend({ purpose: 'infer' });
  expected = await runPythonJson<Outputs>(SAVE_MODELS, { input: { dir }, timeoutMs: 180_000 });
});

function input() {
  return activeTf().linspace(-1, 1, 2 * 16 * 16 * 3).reshape([2, 16, 16, 3]);
}

function maxAbsDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
}

for (const flavour of ['keras2', 'keras3'] as const) {
  test(`a ${flavour} classifier saved as .h5 predicts what Keras predicts`, async () => {
    const model = await loadKerasH5(join(dir, `${flavour}-classifier.h5`));
    const got = (await (model.predict(input()) as import('@tensorflow/tfjs').Tensor).array()) as number[][];
    assert.ok(maxAbsDiff(got.flat(), expected[flavour].classifier.flat()) < 1e-4);
    model.dispose();
  });

  test(`a ${flavour} feature extractor loads through loadFeatureModel with the same feature map`, async () => {
    const model = await loadFeatureModel(join(dir, `${flavour}-extractor.h5`), { channels: 3 });
    const got = (await (model.predict(input()) as import('@tensorflow/tfjs').Tensor).array()) as number[][][][];
    assert.ok(maxAbsDiff(got.flat(3), expected[flavour].extractor.flat(3)) < 1e-4);
    model.dispose();
  });
}

test('a classifier .h5 is refused as a feature extractor, naming its dense layers', async () => {
  await assert.rejects(loadFeatureModel(join(dir, 'keras2-classifier.h5'), { channels: 3 }), /not fully convolutional.*Dense/);
});

test('a weights-only .h5 is refused with the way to save a whole model', async () => {
  await assert.rejects(loadKerasH5(join(dir, 'keras2-classifier.weights.h5')), /save_weights\(\).*model\.save\("model\.h5"\)/);
});

test('a file that is not HDF5 is refused naming the file', async () => {
  await assert.rejects(loadKerasH5(join(import.meta.dirname, 'keras-h5.test.ts')), /keras-h5\.test\.ts is not a readable HDF5 file/);
});
