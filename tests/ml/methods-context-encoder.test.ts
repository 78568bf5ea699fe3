import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayersModel, SymbolicTensor, Tensor } from '@tensorflow/tfjs';
import { activeTf, initBackend } from '../../ml/backend.ts';
import {
  centerMaskBox,
  channelWiseDense,
  ContextEncoderTrainer,
  defaultBorderPx,
  maskMaps,
  parseContextEncoderConfig,
  randomMaskBoxes,
} from '../../ml/methods/context-encoder.ts';
import { Rng } from '../../ml/rng.ts';

before(async () => {
  await initBackend({ purpose: 'train' });
});

test('ChannelWiseDense: per-channel dense over positions with ReLU, equal to a hand loop; reloads from JSON', async () => {
  const tf = activeTf();
  const [h, w, c] = [2, 2, 2];
  const hw = h * w;
  const input = tf.input({ shape: [h, w, c] });
  const layer = channelWiseDense({ name: 'cwd' });
  const model = tf.model({ inputs: input, outputs: layer.apply(input) as SymbolicTensor });
  const init = layer.getWeights()[0]!;
  assert.deepEqual(init.shape, [c, hw, hw]);
  const initValues = Array.from(init.dataSync());
  assert.ok(
    initValues.every((v) => v >= -0.05 && v <= 0.05) && new Set(initValues).size > 1,
    'uniform in +-0.05',
  );

  // x[b, y, x, ch] and W[ch, q, p] with small integers so the hand values are exact.
  const x = [1, -2, 3, 0, -1, 2, 0.5, 1, 2, 2, -1, 3, 0, -4, 1, 1];
  const wts = Array.from({ length: c * hw * hw }, (_, i) => ((i * 7) % 5) - 2);
  layer.setWeights([tf.tensor3d(wts, [c, hw, hw])]);
  const expected: number[] = new Array(2 * hw * c).fill(0);
  for (let b = 0; b < 2; b++)
    for (let p = 0; p < hw; p++)
      for (let ch = 0; ch < c; ch++) {
        let sum = 0;
        for (let q = 0; q < hw; q++) sum += x[(b * hw + q) * c + ch]! * wts[(ch * hw + q) * hw + p]!;
        expected[(b * hw + p) * c + ch] = Math.max(0, sum);
      }
  assert.ok(expected.some((v) => v === 0) && expected.some((v) => v > 0), 'the example exercises the ReLU');
  const xt = tf.tensor4d(x, [2, h, w, c]);
  const got = Array.from((model.predict(xt) as Tensor).dataSync());
  assert.deepEqual(got, expected);

  const json = model.toJSON(null, false) as object;
  const reloaded = await tf.models.modelFromJSON(json as never);
  assert.equal(reloaded.getLayer('cwd').getClassName(), 'ChannelWiseDense');
  reloaded.getLayer('cwd').setWeights([tf.tensor3d(wts, [c, hw, hw])]);
  assert.deepEqual(Array.from((reloaded.predict(xt) as Tensor).dataSync()), expected);
});

test('training masks are exactly floor(H/2) x floor(W/2), inside the image, corners covering their whole range', () => {
  const rng = Rng.fromSeed(11);
  for (const [height, width] of [
    [32, 32],
    [33, 20],
    [7, 5],
  ] as const) {
    const boxes = randomMaskBoxes(rng, 400, height, width);
    const ys = new Set<number>();
    const xs = new Set<number>();
    for (const box of boxes) {
      assert.equal(box.h, Math.floor(height / 2));
      assert.equal(box.w, Math.floor(width / 2));
      assert.ok(
        box.y >= 0 && box.x >= 0 && box.y + box.h <= height && box.x + box.w <= width,
        JSON.stringify(box),
      );
      ys.add(box.y);
      xs.add(box.x);
    }
    assert.equal(ys.size, Math.floor(height / 2), `every top row in [0, ${Math.floor(height / 2)}) occurs`);
    assert.equal(xs.size, Math.floor(width / 2));
    const { mask } = maskMaps(boxes.slice(0, 1), height, width, 10, 1);
    assert.equal(
      mask.reduce((s, v) => s + v, 0),
      Math.floor(height / 2) * Math.floor(width / 2),
    );
  }
  assert.deepEqual(centerMaskBox(32, 32), { y: 8, x: 8, h: 16, w: 16 });
  assert.deepEqual(centerMaskBox(10, 7), { y: 2, x: 1, h: 5, w: 4 });
  assert.throws(() => randomMaskBoxes(rng, 1, 1, 8), /at least 2x2/);
});

test('border weight map: border_weight on the outermost border_px rows/columns of the mask, 1 inside, 0 outside', () => {
  const { mask, weights } = maskMaps([{ y: 1, x: 2, h: 6, w: 5 }], 8, 9, 10, 2);
  const expected = [
    '0 0 0 0 0 0 0 0 0',
    '0 0 10 10 10 10 10 0 0',
    '0 0 10 10 10 10 10 0 0',
    '0 0 10 10 1 10 10 0 0',
    '0 0 10 10 1 10 10 0 0',
    '0 0 10 10 10 10 10 0 0',
    '0 0 10 10 10 10 10 0 0',
    '0 0 0 0 0 0 0 0 0',
  ];
  const rows = (m: Float32Array) =>
    Array.from({ length: 8 }, (_, y) => Array.from(m.subarray(y * 9, (y + 1) * 9)).join(' '));
  assert.deepEqual(rows(weights), expected);
  assert.deepEqual(
    rows(mask),
    expected.map((r) => r.replaceAll('10', '1')),
  );
  // Default band: 7% of the mask side, rounded, at least 1 (64 -> 4 px as the paper's overlap; 128 -> 9).
  assert.equal(defaultBorderPx({ h: 64, w: 64 }), 4);
  assert.equal(defaultBorderPx({ h: 128, w: 100 }), 7);
  assert.equal(defaultBorderPx({ h: 8, w: 8 }), 1);
});

function tinyTrainer(config: Record<string, unknown> = {}, size = 32): ContextEncoderTrainer {
  return new ContextEncoderTrainer({
    config: parseContextEncoderConfig(config),
    inputShape: [size, size, 3],
    seed: 4,
    widths: {
      encoder: [4, 4, 4, 4, 8],
      bottleneck: 8,
      decoder: [8, 4, 4, 4, 4],
      discriminator: [4, 4, 4, 4],
    },
  });
}

function snapshot(model: LayersModel): number[] {
  return model.getWeights().flatMap((w) => Array.from(w.dataSync()));
}

test('config defaults and errors that name the field', () => {
  assert.deepEqual(parseContextEncoderConfig(undefined), {
    recon_weight: 1,
    adv_weight: 1e-3,
    lr: 1e-4,
    border_weight: 10,
    border_px: null,
  });
  assert.throws(() => parseContextEncoderConfig({ border_px: 1.5 }), /context-encoder\.border_px/);
  assert.throws(() => parseContextEncoderConfig({ lr: -1 }), /context-encoder\.lr/);
});

test('a few steps on 32x32 inputs: finite losses, alternating updates, evaluate with inpaints and histograms', async () => {
  const tf = activeTf();
  const trainer = tinyTrainer({ lr: 1e-3 });
  assert.equal(trainer.method, 'context-encoder');
  assert.deepEqual(Object.keys(trainer.parts().models), ['model', 'discriminator']);
  assert.deepEqual(Object.keys(trainer.parts().optimizers), ['inpainter', 'discriminator']);
  assert.equal(trainer.featureExtractor(), trainer.fcn);
  assert.equal(trainer.borderPixels, 1); // 7% of 16 = 1.12
  const rng = Rng.fromSeed(8);
  const images = rng.fillUniform(new Float32Array(4 * 32 * 32 * 3)) as Float32Array;
  const batch = { images, shape: [4, 32, 32, 3] as [number, number, number, number], keys: [] as string[] };
  for (let step = 0; step < 4; step++) {
    const discBefore = snapshot(trainer.discriminator);
    const genBefore = snapshot(trainer.inpainter);
    const m = await trainer.trainStep(batch, step);
    for (const [tag, value] of Object.entries(m)) assert.ok(Number.isFinite(value), `${tag} = ${value}`);
    if (step % 2 === 0) {
      assert.deepEqual(Object.keys(m).sort(), [
        'inpainter_disc_loss',
        'inpainter_recon_loss',
        'inpainter_total_loss',
        'learning_rate',
      ]);
      assert.ok(
        Math.abs(m.inpainter_total_loss! - (m.inpainter_recon_loss! + 1e-3 * m.inpainter_disc_loss!)) < 1e-5,
      );
      assert.ok(m.inpainter_recon_loss! > 0);
      assert.deepEqual(snapshot(trainer.discriminator), discBefore, 'D unchanged on G steps');
    } else {
      assert.deepEqual(Object.keys(m).sort(), ['disc_loss', 'learning_rate']);
      assert.ok(m.disc_loss! > 0);
      assert.deepEqual(snapshot(trainer.inpainter), genBefore, 'G unchanged on D steps');
      assert.notDeepEqual(snapshot(trainer.discriminator), discBefore, 'D updated on D steps');
    }
  }

  const test = {
    images: images.slice(0, 3 * 32 * 32 * 3),
    shape: [3, 32, 32, 3] as [number, number, number, number],
  };
  const result = await trainer.evaluate(test, 2);
  // Recompute the centre-mask L1 and the weighted loss from the inpainter's own prediction, in plain loops.
  const masked = Float32Array.from(test.images);
  const inMask = (y: number, x: number) => y >= 8 && y < 24 && x >= 8 && x < 24;
  const border = (y: number, x: number) => inMask(y, x) && (y === 8 || y === 23 || x === 8 || x === 23);
  for (let i = 0; i < masked.length; i++) {
    const p = Math.floor(i / 3) % 1024;
    if (inMask(Math.floor(p / 32), p % 32)) masked[i] = 0;
  }
  const predicted = (trainer.inpainter.predict(tf.tensor4d(masked, test.shape)) as Tensor).dataSync();
  let l1 = 0;
  let weighted = 0;
  for (let i = 0; i < masked.length; i++) {
    const p = Math.floor(i / 3) % 1024;
    const [y, x] = [Math.floor(p / 32), p % 32];
    if (!inMask(y, x)) continue;
    const e = Math.abs(test.images[i]! - predicted[i]!);
    l1 += e;
    weighted += border(y, x) ? 10 * e : e;
  }
  assert.ok(
    Math.abs(result.scalars.test_recon_loss - l1 / masked.length) < 1e-5,
    `${result.scalars.test_recon_loss} vs ${l1 / masked.length}`,
  );
  assert.ok(Math.abs(result.scalars.test_recon_loss_weighted - weighted / masked.length) < 1e-5);

  const { data, shape } = result.images.inpaints;
  assert.deepEqual(shape, [3, 32, 96, 3]);
  const byte = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  const at = (i: number, y: number, x: number, c: number) => data[((i * 32 + y) * 96 + x) * 3 + c]!;
  assert.equal(at(1, 10, 10, 0), 0, 'left half: masked input is black inside the mask');
  assert.equal(
    at(1, 2, 3, 1),
    byte(test.images[((1 * 32 + 2) * 32 + 3) * 3 + 1]!),
    'left half: original outside',
  );
  assert.equal(
    at(2, 30, 32 + 5, 2),
    byte(test.images[((2 * 32 + 30) * 32 + 5) * 3 + 2]!),
    'middle: original outside',
  );
  assert.equal(
    at(2, 12, 32 + 15, 0),
    byte(predicted[((2 * 32 + 12) * 32 + 15) * 3]!),
    'middle: inpainting inside',
  );
  assert.equal(
    at(2, 12, 64 + 15, 0),
    byte(test.images[((2 * 32 + 12) * 32 + 15) * 3]!),
    'right: the original, also inside the mask',
  );
  for (const values of Object.values(result.histograms)) {
    assert.equal(values.length, 3);
    assert.ok(values.every((v) => v > 0 && v < 1));
  }
  trainer.dispose();
});

test('an input the decoder overshoots (30x30 -> 32x32) is cropped back to the input size', async () => {
  const trainer = tinyTrainer({}, 30);
  const images = Rng.fromSeed(2).fillUniform(new Float32Array(2 * 30 * 30 * 3)) as Float32Array;
  const batch = { images, shape: [2, 30, 30, 3] as [number, number, number, number], keys: [] as string[] };
  for (let step = 0; step < 2; step++) {
    for (const value of Object.values(await trainer.trainStep(batch, step)))
      assert.ok(Number.isFinite(value));
  }
  const result = await trainer.evaluate({ images, shape: batch.shape });
  assert.deepEqual(result.images.inpaints.shape, [2, 30, 90, 3]);
  assert.ok(Number.isFinite(result.scalars.test_recon_loss));
  trainer.dispose();
});

test('the inpainter (with its ChannelWiseDense) round-trips through ml/checkpoint.ts', async () => {
  const tf = activeTf();
  const { saveCheckpoint, loadLatestCheckpoint } = await import('../../ml/checkpoint.ts');
  const files = new Map<string, Uint8Array>();
  const store = {
    get: async (key: string) => {
      const v = files.get(key);
      if (!v) throw new Error(`no ${key}`);
      return v;
    },
    put: async (key: string, data: Uint8Array | string) =>
      void files.set(key, typeof data === 'string' ? new TextEncoder().encode(data) : data),
  };
  const trainer = tinyTrainer();
  const { models, optimizers } = trainer.parts();
  await saveCheckpoint(store, 'run/ckpt', {
    step: 3,
    epoch: 0,
    models,
    optimizers,
    rng: trainer.rng.state(),
  });
  const loaded = (await loadLatestCheckpoint(store, 'run/ckpt'))!;
  const x = tf.tensor4d(
    Rng.fromSeed(6).fillUniform(new Float32Array(2 * 32 * 32 * 3)) as Float32Array,
    [2, 32, 32, 3],
  );
  const before = (trainer.inpainter.predict(x) as Tensor).dataSync();
  const after = (loaded.models.model!.predict(x) as Tensor).dataSync();
  assert.deepEqual(Array.from(after), Array.from(before));
  assert.ok(loaded.models.model!.layers.some((l) => l.getClassName() === 'ChannelWiseDense'));
  trainer.dispose();
});

test('two trainers with the same seed and starting weights train identically through dropout; another seed does not', async () => {
  const images = Rng.fromSeed(5).fillUniform(new Float32Array(2 * 32 * 32 * 3)) as Float32Array;
  const batch = { images, shape: [2, 32, 32, 3] as [number, number, number, number], keys: [] as string[] };
  const a = tinyTrainer();
  const b = tinyTrainer();
  const other = tinyTrainer();
  other.rng = Rng.fromSeed(99);
  for (const t of [b, other]) {
    t.inpainter.setWeights(a.inpainter.getWeights());
    t.discriminator.setWeights(a.discriminator.getWeights());
  }
  for (let step = 0; step < 2; step++) for (const t of [a, b, other]) await t.trainStep(batch, step);
  assert.deepEqual(snapshot(b.inpainter), snapshot(a.inpainter));
  assert.notDeepEqual(snapshot(other.inpainter), snapshot(a.inpainter), 'other masks and dropout give other weights');
  for (const t of [a, b, other]) t.dispose();
});

test('the training reconstruction loss weights the mask border by border_weight: linear in it, as mean(w * |x - G|)', async () => {
  const images = Rng.fromSeed(6).fillUniform(new Float32Array(2 * 32 * 32 * 3)) as Float32Array;
  const batch = { images, shape: [2, 32, 32, 3] as [number, number, number, number], keys: [] as string[] };
  const weights = [0, 1, 10];
  // Same starting weights and seed: the same masks, dropout and inpainting, so only the border weight differs.
  const trainers = weights.map((border_weight) => tinyTrainer({ border_weight, border_px: 2 }));
  for (const t of trainers.slice(1)) {
    t.inpainter.setWeights(trainers[0]!.inpainter.getWeights());
    t.discriminator.setWeights(trainers[0]!.discriminator.getWeights());
  }
  const losses: number[] = [];
  for (const t of trainers) losses.push((await t.trainStep(batch, 0)).inpainter_recon_loss!);
  const [inner, plain, bordered] = losses;
  const border = plain! - inner!; // the border band's share of mean |x - G| (weight 1)
  assert.ok(inner! > 0 && border > 0, `both the inner part (${inner}) and the border band (${border}) count`);
  assert.ok(Math.abs(bordered! - (inner! + 10 * border)) < 1e-4 * bordered!, `weight 10: ${bordered} = ${inner} + 10 x ${border}`);
  for (const t of trainers) t.dispose();
});
