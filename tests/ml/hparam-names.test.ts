import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pretrainHparamNames } from '../../ml/methods/hparam-names.ts';

test('pretraining hparam names are the common settings and every method scalar option, once each', () => {
  const names = pretrainHparamNames();
  for (const name of ['method', 'batch_size', 'sobel', 'augment', 'notes', 'k', 'pca_dim', 'k_oc', 'h', 'border_px', 'adv_weight']) {
    assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
  }
  assert.ok(!names.includes('dense'), 'list-valued options are not columns');
  assert.equal(new Set(names).size, names.length);
});
