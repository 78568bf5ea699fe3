// Context Encoder networks (Pathak et al. 2016) as the original builds them.
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import { BN_EPSILON, BN_MOMENTUM, checkChannels } from './common.ts';

function bn(x: SymbolicTensor, name: string): SymbolicTensor {
  return activeTf()
    .layers.batchNormalization({ momentum: BN_MOMENTUM, epsilon: BN_EPSILON, name })
    .apply(x) as SymbolicTensor;
}

/** Five [Conv k4 s2 same (linear) -> LeakyReLU(0.2) -> BN], filters 64, 64, 128, 256, 512: 256x256 -> 8x8x512. */
export function contextEncoderEncoder(options: {
  channels: number;
  /** Filters per block (default 64, 64, 128, 256, 512); each block halves H and W. Smaller widths are for tests. */
  filters?: number[];
}): LayersModel {
  const tf = activeTf();
  const channels = checkChannels('contextEncoderEncoder', options.channels);
  const input = tf.input({ shape: [null, null, channels], name: 'image' });
  let x = input;
  (options.filters ?? [64, 64, 128, 256, 512]).forEach((filters, i) => {
    x = tf.layers
      .conv2d({ filters, kernelSize: 4, strides: 2, padding: 'same', name: `enc_conv${i + 1}` })
      .apply(x) as SymbolicTensor;
    x = tf.layers.leakyReLU({ alpha: 0.2, name: `enc_lrelu${i + 1}` }).apply(x) as SymbolicTensor;
    x = bn(x, `enc_bn${i + 1}`);
  });
  return tf.model({ inputs: input, outputs: x, name: 'context_encoder_encoder' });
}

/**
 * Five [ConvTranspose k4 s2 same with ReLU -> BN], filters 512, 256, 128, 64, 64, then Conv k3 s1 same with C filters
 * and a sigmoid: upsamples 32x.
 */
export function contextEncoderDecoder(options: {
  channels: number;
  inputChannels?: number;
  /** Filters per block (default 512, 256, 128, 64, 64); each block doubles H and W. Smaller widths are for tests. */
  filters?: number[];
}): LayersModel {
  const tf = activeTf();
  const channels = checkChannels('contextEncoderDecoder', options.channels);
  const inputChannels = checkChannels('contextEncoderDecoder (inputChannels)', options.inputChannels ?? 512);
  const input = tf.input({ shape: [null, null, inputChannels], name: 'features' });
  let x = input;
  (options.filters ?? [512, 256, 128, 64, 64]).forEach((filters, i) => {
    x = tf.layers
      .conv2dTranspose({
        filters,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        name: `dec_deconv${i + 1}`,
      })
      .apply(x) as SymbolicTensor;
    x = bn(x, `dec_bn${i + 1}`);
  });
  x = tf.layers
    .conv2d({
      filters: channels,
      kernelSize: 3,
      strides: 1,
      padding: 'same',
      activation: 'sigmoid',
      name: 'dec_out',
    })
    .apply(x) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: x, name: 'context_encoder_decoder' });
}

/** Four [Conv k4 s2 same with ReLU -> BN], filters 64, 128, 256, 512, then GlobalMaxPool and Dense(1, sigmoid). */
export function contextEncoderDiscriminator(options: {
  channels: number;
  /** Filters per block (default 64, 128, 256, 512). Smaller widths are for tests. */
  filters?: number[];
}): LayersModel {
  const tf = activeTf();
  const channels = checkChannels('contextEncoderDiscriminator', options.channels);
  const input = tf.input({ shape: [null, null, channels], name: 'image' });
  let x = input;
  (options.filters ?? [64, 128, 256, 512]).forEach((filters, i) => {
    x = tf.layers
      .conv2d({
        filters,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        name: `disc_conv${i + 1}`,
      })
      .apply(x) as SymbolicTensor;
    x = bn(x, `disc_bn${i + 1}`);
  });
  x = tf.layers.globalMaxPooling2d({ name: 'disc_pool' }).apply(x) as SymbolicTensor;
  x = tf.layers.dense({ units: 1, activation: 'sigmoid', name: 'disc_out' }).apply(x) as SymbolicTensor;
  return tf.model({ inputs: input, outputs: x, name: 'context_encoder_discriminator' });
}
