import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activeTf, CPU_TRAINING_REFUSED, initBackend } from '../../ml/backend.ts';

// The tests run in order in one process, as a real program would: choose once, then switch on request.
delete process.env.PATCHWORK_BACKEND;
delete process.env.PATCHWORK_ALLOW_CPU_TRAINING;

test('activeTf before initBackend explains what to call', () => {
  assert.throws(() => activeTf(), /call `await initBackend/);
});

test('after `npm run setup` the native TensorFlow backend is chosen by default for training', async () => {
  const backend = await initBackend({ purpose: 'train' });
  assert.equal(backend.name, 'tensorflow', `got ${backend.name}: ${backend.reason}`);
  assert.equal(backend.tf.getBackend(), 'tensorflow');
  assert.equal(activeTf(), backend.tf);
  const product = backend.tf.matMul(backend.tf.tensor2d([[1, 2]]), backend.tf.tensor2d([[3], [4]]));
  assert.deepEqual(product.arraySync(), [[11]]);
});

test('forcing cpu for training is refused with the documented error', async () => {
  await assert.rejects(initBackend({ purpose: 'train', force: 'cpu' }), (error: Error) => {
    assert.ok(error.message.startsWith(CPU_TRAINING_REFUSED));
    assert.match(error.message, /3000x slower/);
    assert.match(error.message, /npm run setup/);
    return true;
  });
  assert.equal(activeTf().getBackend(), 'tensorflow', 'a refused request must not change the active backend');
});

test('an unknown PATCHWORK_BACKEND is an error naming the variable and the choices', async () => {
  process.env.PATCHWORK_BACKEND = 'tpu';
  try {
    await assert.rejects(initBackend({ purpose: 'infer' }), /PATCHWORK_BACKEND="tpu".*tfjs-node-gpu, tfjs-node, wasm, cpu/);
  } finally {
    delete process.env.PATCHWORK_BACKEND;
  }
});

test('forcing wasm works for inference, from local .wasm files', async () => {
  const backend = await initBackend({ purpose: 'infer', force: 'wasm' });
  assert.equal(backend.name, 'wasm');
  assert.equal(backend.tf.getBackend(), 'wasm');
  const x = backend.tf.tensor2d([
    [1, 2],
    [3, 4],
  ]);
  assert.deepEqual(backend.tf.matMul(x, x).arraySync(), [
    [7, 10],
    [15, 22],
  ]);
});

test('PATCHWORK_BACKEND forces a backend; cpu is allowed for inference', async () => {
  process.env.PATCHWORK_BACKEND = 'cpu';
  try {
    const backend = await initBackend({ purpose: 'infer' });
    assert.equal(backend.name, 'cpu');
    assert.match(backend.reason, /PATCHWORK_BACKEND=cpu/);
  } finally {
    delete process.env.PATCHWORK_BACKEND;
  }
});
