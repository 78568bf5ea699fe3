// BNAlexNetFCN: the default fully convolutional feature extractor for DeepCluster (the original's default).
// Every conv is padding 'same' with a built-in ReLU; BN (Keras defaults: momentum 0.99, epsilon 1e-3) comes after the
// ReLU. Max-pools are 3x3 stride 2 'valid'. A 256x256 input gives 7x7x256 (64 -> 31 -> 15 -> 7).
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import { BN_EPSILON, BN_MOMENTUM, checkChannels } from './common.ts';

export interface BnAlexNetOptions {
  /** Input channels C; the input is [null, null, C]. */
  channels: number;
  name?: string;
}

export function bnAlexNetFcn(options: BnAlexNetOptions): LayersModel {
  const tf = activeTf();
  const channels = checkChannels('bnAlexNetFcn', options.channels);
  const input = tf.input({ shape: [null, null, channels], name: 'image' });
  const conv = (x: SymbolicTensor, filters: number, kernelSize: number, strides: number, name: string) => {
    const y = tf.layers
      .conv2d({ filters, kernelSize, strides, padding: 'same', activation: 'relu', name })
      .apply(x) as SymbolicTensor;
    return tf.layers
      .batchNormalization({ momentum: BN_MOMENTUM, epsilon: BN_EPSILON, name: `${name}_bn` })
      .apply(y) as SymbolicTensor;
  };
  const pool = (x: SymbolicTensor, name: string) =>
    tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name }).apply(x) as SymbolicTensor;

  let x = conv(input, 96, 11, 4, 'conv1');
  x = pool(x, 'pool1');
  x = conv(x, 256, 5, 1, 'conv2');
  x = pool(x, 'pool2');
  x = conv(x, 384, 3, 1, 'conv3');
  x = conv(x, 384, 3, 1, 'conv4');
  x = conv(x, 256, 3, 1, 'conv5');
  x = pool(x, 'pool5');
  return tf.model({ inputs: input, outputs: x, name: options.name ?? 'bn_alexnet_fcn' });
}
