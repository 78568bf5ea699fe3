import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SymbolicTensor } from '@tensorflow/tfjs';
import { activeTf, initBackend } from '../../ml/backend.ts';
import {
  ContextEncoderTrainer,
  createTrainer,
  IicTrainer,
  METHODS,
  parseMethodConfig,
} from '../../ml/methods/index.ts';
import { Rng } from '../../ml/rng.ts';
import { parseInputOptions } from '../../ml/data/index.ts';
import { parseRunConfig } from '../../ml/methods/run-config.ts';
import { runHparams, type RunSpec } from '../../storage/pretrain-run.ts';

before(async () => {
  await initBackend({ purpose: 'train' });
});

test('parseMethodConfig fills the reference defaults and names the field on errors', () => {
  assert.equal(parseMethodConfig('iic', {}).k, 10);
  assert.equal(parseMethodConfig('context-encoder', undefined).adv_weight, 1e-3);
  assert.equal(parseMethodConfig('deepcluster', {}).k, 1000);
  assert.throws(
    () => parseMethodConfig('simclr', {}),
    /method: unknown method "simclr"; allowed: deepcluster, iic, context-encoder/,
  );
  assert.throws(
    () => parseMethodConfig('iic', { k_oc: 'many' }),
    /iic\.k_oc: Expected number, received string/,
  );
  assert.throws(
    () => parseMethodConfig('context-encoder', { adv: 1 }),
    /context-encoder: Unrecognized key\(s\) in object: 'adv'/,
  );
  assert.throws(
    () => parseMethodConfig('iic', { head_schedule: 'x' }),
    /iic\.head_schedule: .*'alternate' \| 'sum'/,
  );
});

test('createTrainer builds each method with its parsed config, the given FCN and rng', () => {
  const tf = activeTf();
  const tinyFcn = () => {
    const input = tf.input({ shape: [null, null, 3] });
    return tf.model({
      inputs: input,
      outputs: tf.layers
        .conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' })
        .apply(input) as SymbolicTensor,
    });
  };
  const fcn = tinyFcn();
  const rng = Rng.fromSeed(1);
  const iic = createTrainer('iic', {
    config: { k: 3, k_oc: 4, h: 1 },
    inputShape: [8, 8, 3],
    fcn,
    rng,
  });
  assert.ok(iic instanceof IicTrainer);
  assert.equal(iic.method, 'iic');
  assert.equal(iic.featureExtractor(), fcn);
  assert.equal(iic.rng, rng);
  assert.equal(iic.learningRate(0), 1e-4);
  const dc = createTrainer('deepcluster', {
    config: { k: 3, dense: [8] },
    inputShape: [8, 8, 3],
    fcn: tinyFcn(),
    seed: 2,
  });
  assert.equal(dc.method, 'deepcluster');
  assert.equal(dc.learningRate(0), 0.05);
  assert.throws(() => createTrainer('iic', { config: { k: 0 }, inputShape: [8, 8, 3] }), /iic\.k:/);
  assert.throws(
    () => createTrainer('byol', { inputShape: [8, 8, 3] }),
    new RegExp(`allowed: ${METHODS.join(', ')}`),
  );
  assert.throws(
    () => createTrainer('iic', { inputShape: [8, 8] as never }),
    /inputShape must be \[height, width, channels\]/,
  );
  iic.dispose();
  dc.dispose();
});

test('createTrainer builds the default context encoder on 32x32 inputs', () => {
  const ce = createTrainer('context-encoder', { inputShape: [32, 32, 3], seed: 3 });
  assert.ok(ce instanceof ContextEncoderTrainer);
  assert.deepEqual(ce.featureExtractor().outputs[0]!.shape, [null, null, null, 512]);
  assert.deepEqual(Object.keys(ce.parts().models), ['model', 'discriminator']);
  ce.dispose();
});

test('pretraining batches default to 64 images as in the three original trainers; the loader keeps its 256', () => {
  for (const method of METHODS) {
    assert.equal(parseRunConfig(method, {}).input.batch_size, 64, method);
    assert.equal(parseRunConfig(method, { input: { imshape: [32, 32] } }).input.batch_size, 64, method);
    assert.equal(parseRunConfig(method, { input: { batch_size: 16 } }).input.batch_size, 16, method);
  }
  assert.equal(parseInputOptions({}).batch_size, 256);
  assert.throws(() => parseRunConfig('iic', { input: 'x' }), /input/);
});

test("the original trainers' notes: free text kept beside the method's options and logged with the hparams", () => {
  const config = parseRunConfig('deepcluster', { k: 20, notes: 'tiles from the 2019 survey' });
  assert.equal(config.notes, 'tiles from the 2019 survey');
  assert.equal((config.method as { k: number }).k, 20);
  assert.equal('notes' in config.method, false);
  assert.equal(parseRunConfig('iic', {}).notes, undefined);
  assert.throws(() => parseRunConfig('iic', { notes: 3 }), /notes must be a string/);
  const spec = { method: 'deepcluster', input: config.input, augment: config.augment, methodConfig: config.method, notes: config.notes } as RunSpec;
  assert.equal(runHparams(spec).notes, 'tiles from the 2019 survey');
  assert.equal(runHparams(spec).k, 20);
});
