// Out-of-sample evaluation on a fixed test set, for every method, in inference mode. Nothing here changes a
// trainer's weights, optimizer or random stream, so evaluating never changes what training does next.
import type { Tensor, Tensor2D } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import type { Batch } from '../data/index.ts';
import { normalizedMutualInformation } from '../cluster/index.ts';
import { Rng } from '../rng.ts';
import { ContextEncoderTrainer } from './context-encoder.ts';
import { DeepClusterTrainer } from './deepcluster.ts';
import { IicTrainer, iicJoint, iicLoss } from './iic.ts';
import type { Trainer } from './types.ts';

export interface TestSetEvaluation {
  /** Losses (and accuracies) by metric name, e.g. test_recon_loss. */
  scalars: Record<string, number>;
  /** RGB images by name: [height, width, 3] bytes. */
  images: Record<string, { data: Uint8Array; height: number; width: number }>;
  histograms: Record<string, ArrayLike<number>>;
}

export interface TestSetOptions {
  /** Images per forward pass. */
  chunk: number;
  /** Seeds IIC's augmented views of the test images (the same views at every evaluation). */
  seed: number;
  /** DeepCluster: pseudo-label of each test image (by batch order), from the refit's cluster state. */
  pseudoLabels?: ArrayLike<number>;
  /** DeepCluster: the previous refit's test pseudo-labels, for the NMI between consecutive assignments. */
  previousPseudoLabels?: ArrayLike<number>;
}

export async function evaluateTestSet(trainer: Trainer, test: Batch, options: TestSetOptions): Promise<TestSetEvaluation> {
  if (test.shape[0] === 0) throw new Error('test-set evaluation: no test image could be decoded');
  if (trainer instanceof ContextEncoderTrainer) return contextEncoder(trainer, test, options);
  if (trainer instanceof DeepClusterTrainer) return deepCluster(trainer, test, options);
  if (trainer instanceof IicTrainer) return iic(trainer, test, options);
  throw new Error(`test-set evaluation: no out-of-sample loss for method ${trainer.method}`);
}

async function contextEncoder(trainer: ContextEncoderTrainer, test: Batch, options: TestSetOptions): Promise<TestSetEvaluation> {
  const result = await trainer.evaluate(test, options.chunk);
  const [shown, height, width] = result.images.inpaints.shape;
  return {
    scalars: { ...result.scalars },
    // [shown, H, 3W, 3] row-major is already one image of shown*H rows: one test image per row of the grid.
    images: { inpaints: { data: result.images.inpaints.data, height: shown * height, width } },
    histograms: { ...result.histograms },
  };
}

/** Softmax cross-entropy of the classifier on the test images' pseudo-labels (no dropout), and its accuracy. */
async function deepCluster(trainer: DeepClusterTrainer, test: Batch, options: TestSetOptions): Promise<TestSetEvaluation> {
  const labels = options.pseudoLabels;
  if (!labels || labels.length !== test.shape[0]) {
    throw new Error(`DeepCluster test loss: need one pseudo-label per test image (${test.shape[0]}), got ${labels?.length ?? 0}; refit first`);
  }
  const tf = activeTf();
  const k = trainer.full.outputs[0].shape[1] as number;
  let loss = 0;
  let correct = 0;
  await forChunks(test, options.chunk, async (x, start, count) => {
    const y = tf.oneHot(tf.tensor1d(Array.from(labels).slice(start, start + count), 'int32'), k);
    const logits = trainer.full.predict(x) as Tensor2D;
    const sum = tf.tidy(() => tf.mul(tf.losses.softmaxCrossEntropy(y, logits), count));
    const hits = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)), 'float32')));
    loss += (await sum.data())[0]!;
    correct += (await hits.data())[0]!;
    tf.dispose([y, logits, sum, hits]);
  });
  const n = test.shape[0];
  const scalars: Record<string, number> = { test_crossentropy: loss / n, test_pseudo_label_accuracy: correct / n };
  const previous = options.previousPseudoLabels;
  // The original's test_nmi: how much the test images' clusters moved since the previous refit.
  if (previous && previous.length === labels.length) scalars.test_nmi = normalizedMutualInformation(previous, labels);
  return { scalars, images: {}, histograms: {} };
}

/** -MI per head between each test image and an augmented view of it, over the whole test set. */
async function iic(trainer: IicTrainer, test: Batch, options: TestSetOptions): Promise<TestSetEvaluation> {
  const tf = activeTf();
  const own = trainer.rng;
  trainer.rng = Rng.fromSeed(options.seed);
  let views: ReturnType<IicTrainer['makeViews']>;
  try {
    views = trainer.makeViews(test);
  } finally {
    trainer.rng = own;
  }
  const heads = trainer.full.outputs.length;
  const names = Array.from({ length: heads }, (_, i) => (i < heads / 2 ? `head_${i}` : `oc_head_${i - heads / 2}`));
  const first: Tensor[][] = names.map(() => []);
  const second: Tensor[][] = names.map(() => []);
  for (const [view, into] of [
    [views.view1, first],
    [views.view2, second],
  ] as const) {
    await forChunks({ images: view, shape: views.shape, keys: [] }, options.chunk, async (x) => {
      const outputs = trainer.full.predict(x) as Tensor[];
      outputs.forEach((out, i) => into[i]!.push(out));
    });
  }
  const scalars: Record<string, number> = {};
  const histograms: Record<string, number[]> = {};
  const images: TestSetEvaluation['images'] = {};
  for (const [i, name] of names.entries()) {
    const z1 = tf.concat(first[i]!) as Tensor2D;
    const z2 = tf.concat(second[i]!) as Tensor2D;
    const parts = iicLoss(z1, z2, trainer.entropyWeight);
    scalars[`test_${name}_loss`] = (await parts.loss.data())[0]!;
    images[`P_${name}`] = await jointImage(z1, z2);
    const argmax = tf.argMax(z1, 1);
    const sizes = new Array<number>(z1.shape[1]).fill(0);
    for (const label of await argmax.data()) sizes[label]!++;
    histograms[`test_${name}_cluster_sizes`] = sizes;
    tf.dispose([z1, z2, parts.loss, parts.entropy, parts.conditionalEntropy, argmax, ...first[i]!, ...second[i]!]);
  }
  return { scalars, images, histograms };
}

/**
 * The original's P_head_i image: the symmetrised joint of the two views' cluster assignments (no clamp, no
 * renormalisation) divided by its maximum, as a k x k gray image.
 */
async function jointImage(z1: Tensor2D, z2: Tensor2D): Promise<{ data: Uint8Array; height: number; width: number }> {
  const tf = activeTf();
  const joint = tf.tidy(() => {
    const p = iicJoint(z1, z2);
    return tf.div(p, tf.max(p));
  });
  const values = await joint.data();
  const k = joint.shape[0]!;
  joint.dispose();
  const data = new Uint8Array(k * k * 3);
  values.forEach((v, i) => data.fill(Math.round(Math.min(Math.max(v, 0), 1) * 255), i * 3, i * 3 + 3));
  return { data, height: k, width: k };
}

async function forChunks(test: Batch, chunk: number, run: (x: Tensor, start: number, count: number) => Promise<void>): Promise<void> {
  const tf = activeTf();
  const [n, h, w, c] = test.shape;
  const size = h * w * c;
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const x = tf.tensor4d(test.images.subarray(start * size, (start + count) * size), [count, h, w, c]);
    try {
      await run(x, start, count);
    } finally {
      x.dispose();
    }
  }
}
