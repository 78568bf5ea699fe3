import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SymbolicTensor } from '@tensorflow/tfjs';
import { activeTf, initBackend } from '../../ml/backend.ts';
import { layerFeatures } from '../../ml/eval/layer-features.ts';

before(async () => {
  await initBackend({ purpose: 'train' });
});

/** image -> `double` (1x1 conv, x2) -> `half` (2x2 average pool of it), one channel, no bias. */
function twoLayerFcn() {
  const tf = activeTf();
  const input = tf.input({ shape: [null, null, 1] });
  const conv = tf.layers.conv2d({ filters: 1, kernelSize: 1, useBias: false, name: 'double' });
  const doubled = conv.apply(input) as SymbolicTensor;
  const pooled = tf.layers.averagePooling2d({ poolSize: 2, name: 'half' }).apply(doubled) as SymbolicTensor;
  const fcn = tf.model({ inputs: input, outputs: pooled, name: 'two_layer' });
  conv.setWeights([tf.tensor4d([2], [1, 1, 1, 1])]);
  return fcn;
}

// One 4x4 image 0..15 row-major, and one of all ones.
const images = new Float32Array([...Array.from({ length: 16 }, (_, i) => i), ...new Array(16).fill(1)]);

test('layer features: default is the output globally average-pooled', async () => {
  const { features, dim } = await layerFeatures(twoLayerFcn(), images, [2, 4, 4, 1], { chunk: 1 });
  assert.equal(dim, 1);
  assert.deepEqual(Array.from(features), [15, 2]); // mean of 2 * (0..15) = 15
});

test('layer features: several layers, each pooled to a grid, concatenated in the order given', async () => {
  const { features, dim } = await layerFeatures(twoLayerFcn(), images, [2, 4, 4, 1], {
    layers: ['double', 'half'],
    grid: 2,
  });
  assert.equal(dim, 8);
  // `double` pooled to 2x2: quadrant means of 2 * image; `half` is already 2x2, so pooling it changes nothing.
  const quadrants = [2 * 2.5, 2 * 4.5, 2 * 10.5, 2 * 12.5];
  assert.deepEqual(Array.from(features.subarray(0, 8)), [...quadrants, ...quadrants]);
  assert.deepEqual(Array.from(features.subarray(8)), new Array(8).fill(2));
});

test('layer features: read from the FCN graph even after the FCN is wrapped in another model', async () => {
  const tf = activeTf();
  const fcn = twoLayerFcn();
  const outer = tf.input({ shape: [4, 4, 1] });
  tf.model({ inputs: outer, outputs: fcn.apply(outer) as SymbolicTensor }); // gives every FCN layer a second node
  const { features } = await layerFeatures(fcn, images, [2, 4, 4, 1], { layers: ['double'] });
  assert.deepEqual(Array.from(features), [15, 2]);
});

test('layer features: an unknown layer or a grid that does not divide the map is a clear error', async () => {
  const fcn = twoLayerFcn();
  await assert.rejects(
    layerFeatures(fcn, images, [2, 4, 4, 1], { layers: ['conv9'] }),
    /has no layer conv9; pick one of .*double/,
  );
  await assert.rejects(
    layerFeatures(fcn, images, [2, 4, 4, 1], { grid: 3 }),
    /2x2 map cannot be pooled to 3x3/,
  );
  await assert.rejects(
    layerFeatures(fcn, images, [2, 4, 4, 1], { grid: 0 }),
    /grid must be a positive integer/,
  );
});
