// Context Encoder (Pathak et al. 2016) as the original implements it, plus the paper's border term.
//
// - Inpainter: encoder (the FCN; default contextEncoderEncoder) -> ChannelWiseDense -> Dropout 0.5 -> 1x1 conv 512
//   (linear) -> contextEncoderDecoder. Its output is cropped to the input's H x W in every use (the original did not
//   crop in the discriminator step). Discriminator: contextEncoderDiscriminator.
// - Training masks: one rectangle of exactly floor(H/2) x floor(W/2) per image, top-left corner y in [0, floor(H/2)),
//   x in [0, floor(W/2)), drawn from the trainer's `rng` on every step (both step kinds, as the original's zipped mask
//   stream). Test mask: rows [floor(H/4), floor(3H/4)), and the same for columns.
// - Even global steps update the inpainter with Adam(lr), odd steps the discriminator with Adam(0.1 lr).
//   Inpainter loss = recon_weight * recon + adv_weight * adv, where
//     recon = mean over all B*H*W*C elements of w * |x - G((1-M) x)|, with the weight map w = 0 outside the mask,
//             1 inside, and `border_weight` on the mask's outermost `border_px` rows and columns. The original's loss is this with
//             border_weight = 1 (L1, diluted by the unmasked area); the paper's 10x border term is the default here.
//             `border_px` null means round(7% of min(mask height, mask width)), at least 1: the paper's 4 px overlap
//             of a 64 px centre region.
//     adv = -mean log clip(D(G(x~)), eps, 1-eps) on the raw decoder output (D in inference mode).
//   Discriminator loss (summed over the batch, D in training mode, G in inference mode):
//     -sum log clip(D(x)) - sum log clip(1 - D(G(x~))).
// - ChannelWiseDense (ml/models/channel-wise-dense.ts) is a custom layer registered with tf.serialization.registerClass.
import type {
  LayersModel,
  Optimizer,
  Scalar,
  SymbolicTensor,
  Tensor,
  Tensor4D,
  Variable,
} from '@tensorflow/tfjs';
import { z } from 'zod';
import { activeTf, type Tf } from '../backend.ts';
import type { Batch } from '../data/index.ts';
import { parseOrThrow } from '../data/options.ts';
import {
  contextEncoderDecoder,
  contextEncoderDiscriminator,
  contextEncoderEncoder,
} from '../models/index.ts';
import { channelWiseDense, registerChannelWiseDense } from '../models/channel-wise-dense.ts';
import { Rng } from '../rng.ts';
import { centerMaskBox, defaultBorderPx, maskMaps, randomMaskBoxes, type MaskBox } from './context-encoder-masks.ts';
import type { StepMetrics, Trainer } from './types.ts';

const EPS = 1e-7;

export const contextEncoderSchema = z
  .object({
    recon_weight: z.number().min(0).default(1),
    adv_weight: z.number().min(0).default(1e-3),
    lr: z.number().positive().default(1e-4),
    /** Weight of masked pixels near the mask edge (Pathak et al.: 10); 1 gives the original's plain L1. */
    border_weight: z.number().min(0).default(10),
    /** Width of that border band in pixels; null: round(0.07 * min(mask h, mask w)), at least 1. */
    border_px: z.number().int().min(0).nullable().default(null),
  })
  .strict();
export type ContextEncoderConfig = z.output<typeof contextEncoderSchema>;

export function parseContextEncoderConfig(value: unknown): ContextEncoderConfig {
  return parseOrThrow(contextEncoderSchema, value ?? {}, 'context-encoder');
}

export { CHANNEL_WISE_DENSE, channelWiseDense, registerChannelWiseDense } from '../models/channel-wise-dense.ts';
export { centerMaskBox, defaultBorderPx, maskMaps, randomMaskBoxes, type MaskBox } from './context-encoder-masks.ts';

// ---------------------------------------------------------------------------------------------------------------
// Trainer

export interface ContextEncoderOptions {
  config: ContextEncoderConfig;
  /** [H, W, C] of the training input. */
  inputShape: [number, number, number];
  /** The encoder; default contextEncoderEncoder. */
  fcn?: LayersModel;
  /** Draws the training masks; default Rng.fromSeed(seed ?? 0). */
  rng?: Rng;
  seed?: number;
  /** Narrower networks for tests and small runs: builder filters and the 1x1 bottleneck conv (default 512). */
  widths?: { encoder?: number[]; decoder?: number[]; discriminator?: number[]; bottleneck?: number };
}

export interface RgbImages {
  /** [n, height, width, 3] row-major RGB bytes. */
  data: Uint8Array;
  shape: [number, number, number, 3];
}

export interface ContextEncoderEvaluation {
  scalars: { test_recon_loss: number; test_recon_loss_weighted: number };
  /** Masked input | composite G(x~) M + x (1 - M) | original, side by side along the width, for up to 10 test images. */
  images: { inpaints: RgbImages };
  histograms: { disc_outputs_on_raw: Float32Array; disc_outputs_on_inpaint: Float32Array };
}

type AdamWithLr = Optimizer & { learningRate: number };

export class ContextEncoderTrainer implements Trainer {
  readonly method = 'context-encoder' as const;
  readonly fcn: LayersModel;
  readonly inpainter: LayersModel;
  readonly discriminator: LayersModel;
  rng: Rng;
  private readonly optimizers: { inpainter: AdamWithLr; discriminator: AdamWithLr };
  private baseLr: number;
  private readonly borderPx: number;
  private readonly outputHw: [number, number];
  /** tfjs dropout is unseeded unless its `seed` is set; trainStep sets it from `rng`, which checkpoints save. */
  private readonly dropout: { seed?: number };

  constructor(private readonly options: ContextEncoderOptions) {
    const tf = activeTf();
    const { config, inputShape, widths = {} } = options;
    const [height, width, channels] = inputShape;
    this.rng = options.rng ?? Rng.fromSeed(options.seed ?? 0);
    this.fcn = options.fcn ?? contextEncoderEncoder({ channels, filters: widths.encoder });
    const bottleneck = widths.bottleneck ?? 512;
    const input = tf.input({ shape: inputShape, name: 'ce_input' });
    let x = this.fcn.apply(input) as SymbolicTensor;
    x = channelWiseDense({ name: 'ce_channel_wise_dense' }).apply(x) as SymbolicTensor;
    const dropout = tf.layers.dropout({ rate: 0.5, name: 'ce_dropout' });
    this.dropout = dropout as unknown as { seed?: number };
    x = dropout.apply(x) as SymbolicTensor;
    x = tf.layers
      .conv2d({ filters: bottleneck, kernelSize: 1, name: 'ce_bottleneck' })
      .apply(x) as SymbolicTensor;
    const decoder = contextEncoderDecoder({ channels, inputChannels: bottleneck, filters: widths.decoder });
    x = decoder.apply(x) as SymbolicTensor;
    this.inpainter = tf.model({ inputs: input, outputs: x, name: 'inpainter' });
    const [, outH, outW] = x.shape;
    if (outH == null || outW == null || outH < height || outW < width) {
      throw new Error(
        `context encoder: the inpainter's output is ${outH}x${outW}, smaller than the ${height}x${width} input; ` +
          'use an encoder whose downsampling the decoder undoes (5 stride-2 blocks by default)',
      );
    }
    this.outputHw = [outH, outW];
    this.discriminator = contextEncoderDiscriminator({ channels, filters: widths.discriminator });
    this.baseLr = config.lr;
    this.optimizers = {
      inpainter: tf.train.adam(config.lr) as unknown as AdamWithLr,
      discriminator: tf.train.adam(0.1 * config.lr) as unknown as AdamWithLr,
    };
    this.borderPx =
      config.border_px ?? defaultBorderPx({ h: Math.floor(height / 2), w: Math.floor(width / 2) });
  }

  parts() {
    return {
      models: { model: this.inpainter, discriminator: this.discriminator },
      optimizers: {
        inpainter: this.optimizers.inpainter as Optimizer,
        discriminator: this.optimizers.discriminator as Optimizer,
      },
    };
  }

  exportedModels(): Record<string, LayersModel> {
    return { inpainter: this.inpainter, discriminator: this.discriminator };
  }

  featureExtractor(): LayersModel {
    return this.fcn;
  }

  /** The inpainter's; the discriminator runs at 0.1 times this. No decay (the original had none). */
  learningRate(_step: number): number {
    return this.baseLr;
  }

  setBaseLearningRate(lr: number): void {
    this.baseLr = lr;
  }

  methodState(): Record<string, unknown> {
    return {};
  }

  loadMethodState(_state: Record<string, unknown>): void {}

  /** Border band width in pixels in effect. */
  get borderPixels(): number {
    return this.borderPx;
  }

  /** G's output cropped to the input's H x W. */
  private inpaint(masked: Tensor4D, training: boolean): Tensor4D {
    const tf = activeTf();
    const [height, width] = this.options.inputShape;
    const out = this.inpainter.apply(masked, { training }) as Tensor4D;
    if (this.outputHw[0] === height && this.outputHw[1] === width) return out;
    return tf.slice(out, [0, 0, 0, 0], [-1, height, width, -1]);
  }

  private weightsOf(model: LayersModel): Variable[] {
    return model.trainableWeights.map((w) => w.read() as Variable);
  }

  async trainStep(batch: Batch, step: number): Promise<StepMetrics> {
    const tf = activeTf();
    const { config } = this.options;
    const [b, height, width] = batch.shape;
    const boxes = randomMaskBoxes(this.rng, b, height, width);
    const maps = maskMaps(boxes, height, width, config.border_weight, this.borderPx);
    this.dropout.seed = this.rng.nextUint32() || 1;
    this.optimizers.inpainter.learningRate = this.baseLr;
    this.optimizers.discriminator.learningRate = 0.1 * this.baseLr;
    const metrics: StepMetrics = { learning_rate: this.baseLr };
    if (step % 2 === 0) {
      let recon: Tensor | undefined;
      let adv: Tensor | undefined;
      const total = tf.tidy(() => {
        const x = tf.tensor4d(batch.images, batch.shape);
        const mask = tf.tensor4d(maps.mask, [b, height, width, 1]);
        const weights = tf.tensor4d(maps.weights, [b, height, width, 1]);
        const masked = tf.mul(x, tf.sub(1, mask)) as Tensor4D;
        return this.optimizers.inpainter.minimize(
          () => {
            const y = this.inpaint(masked, true);
            const r = tf.mean(tf.mul(weights, tf.abs(tf.sub(x, y))));
            const d = this.discriminator.apply(y, { training: false }) as Tensor;
            const a = tf.neg(tf.mean(tf.log(tf.clipByValue(d, EPS, 1 - EPS))));
            recon = tf.keep(r);
            adv = tf.keep(a);
            return tf.add(tf.mul(r, config.recon_weight), tf.mul(a, config.adv_weight)) as Scalar;
          },
          true,
          this.weightsOf(this.inpainter),
        )!;
      });
      metrics.inpainter_recon_loss = (await recon!.data())[0]!;
      metrics.inpainter_disc_loss = (await adv!.data())[0]!;
      metrics.inpainter_total_loss = (await total.data())[0]!;
      tf.dispose([recon!, adv!, total]);
    } else {
      const loss = tf.tidy(() => {
        const x = tf.tensor4d(batch.images, batch.shape);
        const mask = tf.tensor4d(maps.mask, [b, height, width, 1]);
        const fake = this.inpaint(tf.mul(x, tf.sub(1, mask)) as Tensor4D, false);
        return this.optimizers.discriminator.minimize(
          () => {
            const real = this.discriminator.apply(x, { training: true }) as Tensor;
            const forged = this.discriminator.apply(fake, { training: true }) as Tensor;
            return tf.neg(
              tf.add(
                tf.sum(tf.log(tf.clipByValue(real, EPS, 1 - EPS))),
                tf.sum(tf.log(tf.clipByValue(tf.sub(1, forged), EPS, 1 - EPS))),
              ),
            ) as Scalar;
          },
          true,
          this.weightsOf(this.discriminator),
        )!;
      });
      metrics.disc_loss = (await loss.data())[0]!;
      loss.dispose();
    }
    return metrics;
  }

  /** Test-set evaluation with the fixed centre mask, in chunks of `chunk` images (inference mode). */
  async evaluate(
    test: { images: Float32Array; shape: [number, number, number, number] },
    chunk = 16,
  ): Promise<ContextEncoderEvaluation> {
    const tf = activeTf();
    const { config } = this.options;
    const [n, height, width, channels] = test.shape;
    if (n === 0) throw new Error('context encoder evaluate: no test images');
    const box = centerMaskBox(height, width);
    const single = maskMaps([box], height, width, config.border_weight, this.borderPx);
    const size = height * width * channels;
    const shown = Math.min(n, 10);
    const inpaints = new Uint8Array(shown * height * 3 * width * 3);
    const onRaw = new Float32Array(n);
    const onInpaint = new Float32Array(n);
    let reconSum = 0;
    let weightedSum = 0;
    for (let start = 0; start < n; start += chunk) {
      const count = Math.min(chunk, n - start);
      const out = tf.tidy(() => {
        const x = tf.tensor4d(test.images.subarray(start * size, (start + count) * size), [
          count,
          height,
          width,
          channels,
        ]);
        const mask = tf.tensor4d(single.mask, [1, height, width, 1]);
        const weights = tf.tensor4d(single.weights, [1, height, width, 1]);
        const masked = tf.mul(x, tf.sub(1, mask)) as Tensor4D;
        const y = this.inpaint(masked, false);
        const error = tf.abs(tf.sub(x, y));
        return {
          recon: tf.sum(tf.mul(mask, error)),
          weighted: tf.sum(tf.mul(weights, error)),
          raw: this.discriminator.predict(x) as Tensor,
          forged: this.discriminator.predict(y) as Tensor,
          masked,
          composite: tf.add(tf.mul(y, mask), tf.mul(x, tf.sub(1, mask))),
        };
      });
      reconSum += (await out.recon.data())[0]!;
      weightedSum += (await out.weighted.data())[0]!;
      onRaw.set(await out.raw.data(), start);
      onInpaint.set(await out.forged.data(), start);
      if (start < shown) {
        const panels = [await out.masked.data(), await out.composite.data(), test.images.subarray(start * size, (start + count) * size)];
        for (let i = 0; i < Math.min(count, shown - start); i++) {
          writeSideBySide(inpaints, start + i, panels, i, height, width, channels);
        }
      }
      tf.dispose(Object.values(out));
    }
    const elements = n * size;
    return {
      scalars: { test_recon_loss: reconSum / elements, test_recon_loss_weighted: weightedSum / elements },
      images: { inpaints: { data: inpaints, shape: [shown, height, 3 * width, 3] } },
      histograms: { disc_outputs_on_raw: onRaw, disc_outputs_on_inpaint: onInpaint },
    };
  }

  dispose(): void {
    this.inpainter.dispose();
    this.discriminator.dispose();
    this.optimizers.inpainter.dispose();
    this.optimizers.discriminator.dispose();
  }
}

/** Image `index` of the output: the panels' image `i` side by side along the width, as RGB bytes. */
function writeSideBySide(
  out: Uint8Array,
  index: number,
  panels: ArrayLike<number>[],
  i: number,
  height: number,
  width: number,
  channels: number,
): void {
  const toByte = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  const rowBytes = panels.length * width * 3;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = ((i * height + y) * width + x) * channels;
      const dst = index * height * rowBytes + y * rowBytes;
      for (let c = 0; c < 3; c++) {
        const from = src + Math.min(c, channels - 1); // grey is repeated; extra channels beyond 3 are not shown
        panels.forEach((panel, p) => (out[dst + (p * width + x) * 3 + c] = toByte(panel[from]!)));
      }
    }
  }
}
