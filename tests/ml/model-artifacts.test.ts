// ml/model-artifacts: an exported model loads back with the same weights and hash, and the gathered feature rows of a
// chunked loop are the rows of one pass.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '@tensorflow/tfjs';
import { initBackend, type Tf } from '../../ml/backend.ts';
import { gatherRowsInChunks, featuresInChunks } from '../../ml/eval/chunked-features.ts';
import {
  exportLayersModel,
  loadLayersModelFrom,
  parseLayersModelJson,
  weightsHash,
} from '../../ml/model-artifacts.ts';
import { LocalStorage } from '../../storage/index.ts';

let tf: Tf;
const dir = mkdtempSync(join(tmpdir(), 'patchwork-artifacts-'));
before(async () => {
  tf = (await initBackend({ purpose: 'infer' })).tf;
});
after(() => rmSync(dir, { recursive: true, force: true }));

function smallFcn() {
  const input = tf.input({ shape: [8, 8, 3] });
  const conv = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' })
    .apply(input);
  const norm = tf.layers.batchNormalization().apply(conv);
  return tf.model({ inputs: input, outputs: norm as never });
}

test('an exported model loads back with the same weights, metadata and hash', async () => {
  const store = new LocalStorage(dir);
  const model = smallFcn();
  const keys = { model: 'runs/r/model/model.json', weights: 'runs/r/model/weights.bin' };
  const { sha256, bytes } = await exportLayersModel(store, keys, model, { step: 7 });
  const [json, weights] = [await store.get(keys.model), await store.get(keys.weights)];
  assert.equal(bytes, json.length + weights.length);
  assert.equal(sha256, createHash('sha256').update(json).update(weights).digest('hex'));
  const parsed = parseLayersModelJson(json);
  assert.deepEqual(parsed.weightsManifest[0]!.paths, ['weights.bin']);
  assert.deepEqual(parsed.userDefinedMetadata, { step: 7 });
  const loaded = await loadLayersModelFrom(store, keys.model, parsed);
  assert.equal(weightsHash(loaded), weightsHash(model));
  const x = tf.randomNormal([2, 8, 8, 3]);
  assert.deepEqual((loaded.predict(x) as Tensor).dataSync(), (model.predict(x) as Tensor).dataSync());
});

test('rows gathered chunk by chunk are the rows of one pass, and dropped batches add none', async () => {
  const images = Float32Array.from({ length: 5 * 2 * 2 * 1 }, (_, i) => i);
  const whole = await featuresInChunks(images, [5, 2, 2, 1], 5, (x) => tf.reshape(x, [x.shape[0], 4]));
  const chunked = await featuresInChunks(images, [5, 2, 2, 1], 2, (x) => tf.reshape(x, [x.shape[0], 4]));
  assert.deepEqual(chunked, whole);
  assert.equal(whole.dim, 4);
  const gathered = await gatherRowsInChunks(5, 2, async (start, end) =>
    start === 2
      ? undefined
      : { ids: [start, end], rows: { features: new Float32Array([start, end]), dim: 2 } },
  );
  assert.deepEqual(gathered.ids, [0, 2, 4, 5]);
  assert.deepEqual(Array.from(gathered.features), [0, 2, 4, 5]);
});
