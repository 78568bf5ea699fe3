// Pieces shared by the benchmarks that pretrain a small FCN on in-memory images: seeded starting weights, the probe
// layers, batches from a float array, and a DeepCluster run through the real trainer (refit, cluster-uniform epoch
// sample, seeded augmentation).
import type { LayersModel, Tensor2D } from '@tensorflow/tfjs';
import { activeTf } from '../../../ml/backend.ts';
import { augmentImage, type AugmentParams, type Batch } from '../../../ml/data/index.ts';
import { createTrainer, type DeepClusterTrainer } from '../../../ml/methods/index.ts';
import { STREAM, derivedSeed, epochOrder, stepIndices } from '../../../ml/methods/plan.ts';
import { Rng } from '../../../ml/rng.ts';

/** Augmentation for grey images (hue/saturation need RGB; Fashion-MNIST items are upright, so no up-down/rot90). */
export const GREY_AUGMENT: AugmentParams = {
  max_brightness_delta: 0.2,
  contrast_min: 0.6,
  contrast_max: 1.4,
  max_hue_delta: 0,
  max_saturation_delta: 0,
  left_right_flip: true,
  up_down_flip: false,
  rot90: false,
  zoom_scale: 0.2,
  select_prob: 0.5,
};

/** Kernels Glorot-uniform from `rng` (Keras' default initializer, drawn from our seeded stream), biases zero. */
export function seededInit(model: LayersModel, rng: Rng): void {
  const tf = activeTf();
  const fresh = model.weights.map((w) => {
    const shape = w.shape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    if (w.name.includes('kernel') && shape.length >= 2) {
      const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
      const limit = Math.sqrt(6 / (receptive * (shape.at(-2)! + shape.at(-1)!)));
      return tf.tensor(rng.fillUniform(new Float32Array(n), -limit, limit) as Float32Array, shape);
    }
    return w.read().clone(); // BN gamma/beta/moving stats and biases keep their deterministic initial values
  });
  model.setWeights(fresh);
  tf.dispose(fresh);
}

/** The last block output of each smallResNet stage (the probe reads all of them, globally average-pooled). */
export function stageOutputs(fcn: LayersModel, stages: number): string[] {
  return Array.from({ length: stages }, (_, stage) => {
    const names = fcn.layers
      .map((l) => l.name)
      .filter((n) => n.startsWith(`s${stage + 1}b`) && n.endsWith('_out'));
    return names.at(-1)!;
  });
}

export interface ImageArray {
  /** [count, height, width, 1] in [0, 1]. */
  data: Float32Array;
  size: number;
}

/** A batch of `indices` from `images`, augmented with a stream seeded by (seed, step) when `augment` is given. */
export function arrayBatch(
  images: ImageArray,
  indices: number[],
  augment: AugmentParams | null,
  seed: number,
  step: number,
): Batch {
  const pixels = images.size * images.size;
  const out = new Float32Array(indices.length * pixels);
  const rng = Rng.fromSeed(derivedSeed(seed, STREAM.augment, step));
  indices.forEach((index, i) => {
    const src = images.data.slice(index * pixels, (index + 1) * pixels);
    const im = augment
      ? augmentImage({ data: src, height: images.size, width: images.size, channels: 1 }, augment, rng)
      : { data: src };
    out.set(im.data, i * pixels);
  });
  return { images: out, shape: [indices.length, images.size, images.size, 1], keys: indices.map(String) };
}

export interface DeepClusterRun {
  fcn: LayersModel;
  /** Weights the FCN starts from (seededInit from seed), applied after the trainer builds its head. */
  initialWeights: ReturnType<LayersModel['getWeights']>;
  images: ImageArray;
  count: number;
  epochs: number;
  batchSize: number;
  seed: number;
  config: Record<string, unknown>;
  augment: AugmentParams;
  log?: (line: string) => void;
}

/** Trains `fcn` by DeepCluster through the project's trainer; returns the trained feature extractor. */
export async function trainDeepCluster(run: DeepClusterRun): Promise<LayersModel> {
  const tf = activeTf();
  const { images, count, seed, batchSize } = run;
  const trainer = createTrainer('deepcluster', {
    config: run.config,
    inputShape: [images.size, images.size, 1],
    fcn: run.fcn,
    rng: Rng.fromSeed(derivedSeed(seed, STREAM.trainer, 0)),
    augment: run.augment,
  }) as DeepClusterTrainer;
  seededInit(trainer.parts().models.model!, Rng.fromSeed(derivedSeed(seed, 101, 0)));
  run.fcn.setWeights(run.initialWeights);
  trainer.setFileList(Array.from({ length: count }, (_, i) => String(i)));
  const stepsPerEpoch = Math.floor(count / batchSize);
  let step = 0;
  for (let epoch = 0; epoch < run.epochs; epoch++) {
    const rows: Tensor2D[] = [];
    for (let start = 0; start < count; start += 500) {
      const idx = Array.from({ length: Math.min(500, count - start) }, (_, i) => start + i);
      rows.push(trainer.embedBatch(arrayBatch(images, idx, null, seed, 0)));
    }
    const features = tf.concat(rows) as Tensor2D;
    tf.dispose(rows);
    const refit = trainer.refit(features, Rng.fromSeed(derivedSeed(seed, STREAM.refit, epoch)));
    features.dispose();
    trainer.resetHeadIfNeeded(epoch);
    const sample = trainer.epochSample(Rng.fromSeed(derivedSeed(seed, STREAM.epochOrder, epoch)));
    const order = epochOrder({ files: count, stepsPerEpoch, batchSize, seed, epoch, sample });
    let loss = 0;
    for (let s = 0; s < stepsPerEpoch; s++, step++)
      loss += (
        await trainer.trainStep(
          arrayBatch(images, stepIndices(order, s, batchSize), run.augment, seed, step),
          step,
        )
      ).loss!;
    run.log?.(
      `deepcluster epoch ${epoch}: nmi_prev ${refit.nmi.toFixed(3)}, empty ${refit.sizes.filter((n) => n === 0).length}, mean loss ${(loss / stepsPerEpoch).toFixed(3)}`,
    );
  }
  return trainer.featureExtractor();
}
