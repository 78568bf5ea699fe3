// A small fully convolutional ResNet (He et al. 2016, basic blocks, BN after each conv, ReLU after the add). No pooling
// head and no Dense: the output is a [B, h, w, widths.at(-1)] feature map, so global pooling or any head can follow.
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import { BN_EPSILON, BN_MOMENTUM, checkChannels } from './common.ts';

export interface SmallResNetOptions {
  channels: number;
  /** Filters per stage; every stage after the first halves the resolution. Default [32, 64, 128, 256]. */
  widths?: number[];
  /** Basic blocks per stage. Default 1. */
  blocksPerStage?: number;
  name?: string;
}

export function smallResNet(options: SmallResNetOptions): LayersModel {
  const tf = activeTf();
  const channels = checkChannels('smallResNet', options.channels);
  const widths = options.widths ?? [32, 64, 128, 256];
  const blocks = options.blocksPerStage ?? 1;
  if (widths.length === 0 || !widths.every((w) => Number.isInteger(w) && w > 0)) {
    throw new TypeError(
      `smallResNet: widths must be a non-empty list of positive integers, got ${JSON.stringify(widths)}`,
    );
  }
  if (!Number.isInteger(blocks) || blocks < 1)
    throw new TypeError(`smallResNet: blocksPerStage must be >= 1, got ${blocks}`);

  const bn = (x: SymbolicTensor, name: string) =>
    tf.layers
      .batchNormalization({ momentum: BN_MOMENTUM, epsilon: BN_EPSILON, name })
      .apply(x) as SymbolicTensor;
  const conv = (x: SymbolicTensor, filters: number, kernelSize: number, strides: number, name: string) =>
    tf.layers
      .conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, name })
      .apply(x) as SymbolicTensor;
  const relu = (x: SymbolicTensor, name: string) => tf.layers.reLU({ name }).apply(x) as SymbolicTensor;

  const input = tf.input({ shape: [null, null, channels], name: 'image' });
  // Stem: 3x3 stride 2, so a 256 input reaches stage 1 at 128.
  let x = relu(bn(conv(input, widths[0]!, 3, 2, 'stem_conv'), 'stem_bn'), 'stem_relu');
  let inWidth = widths[0]!;
  widths.forEach((width, stage) => {
    for (let b = 0; b < blocks; b++) {
      const strides = stage > 0 && b === 0 ? 2 : 1;
      const p = `s${stage + 1}b${b + 1}`;
      let y = relu(bn(conv(x, width, 3, strides, `${p}_conv1`), `${p}_bn1`), `${p}_relu1`);
      y = bn(conv(y, width, 3, 1, `${p}_conv2`), `${p}_bn2`);
      const shortcut =
        strides !== 1 || inWidth !== width ? bn(conv(x, width, 1, strides, `${p}_proj`), `${p}_proj_bn`) : x;
      x = relu(tf.layers.add({ name: `${p}_add` }).apply([y, shortcut]) as SymbolicTensor, `${p}_out`);
      inWidth = width;
    }
  });
  return tf.model({ inputs: input, outputs: x, name: options.name ?? 'small_resnet' });
}
