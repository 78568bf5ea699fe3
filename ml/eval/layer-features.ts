// Linear-probe features from several layers of an FCN: each chosen layer's output average-pooled to a grid x grid map,
// flattened, and concatenated per image (the usual probe protocol for DeepCluster/IIC features, which reads more than
// the last layer). grid 1 is global average pooling.
import type { LayersModel, SymbolicTensor, Tensor, Tensor4D } from '@tensorflow/tfjs';
import { activeTf } from '../backend.ts';
import { featuresInChunks } from './chunked-features.ts';

export interface LayerFeatureOptions {
  /** Layer names of `fcn` whose outputs are pooled; default: the model's output only. */
  layers?: string[];
  /** Each map is average-pooled to grid x grid cells; its height and width must be divisible by grid. Default 1. */
  grid?: number;
  /** Images per forward pass. */
  chunk?: number;
}

/** [n * dim] row-major features of [n, H, W, C] images, computed `chunk` images at a time in inference mode. */
export async function layerFeatures(
  fcn: LayersModel,
  images: Float32Array,
  shape: [number, number, number, number],
  options: LayerFeatureOptions = {},
): Promise<{ features: Float32Array; dim: number }> {
  const tf = activeTf();
  const { grid = 1, chunk = 250 } = options;
  if (!Number.isInteger(grid) || grid < 1)
    throw new Error(`layerFeatures: grid must be a positive integer, got ${grid}`);
  const outputs = (options.layers ?? []).map((name) => {
    const layer = fcn.layers.find((l) => l.name === name);
    if (!layer)
      throw new Error(
        `layerFeatures: ${fcn.name} has no layer ${name}; pick one of ${fcn.layers.map((l) => l.name).join(', ')}`,
      );
    // Node 0 is the layer in the FCN's own graph (later nodes come from wrapping the FCN in a trainer's model).
    return layer.getOutputAt(0) as SymbolicTensor;
  });
  const extractor = outputs.length > 0 ? tf.model({ inputs: fcn.inputs, outputs }) : fcn;
  const pool = (map: Tensor4D): Tensor => {
    const [b, h, w, c] = map.shape;
    if (h % grid !== 0 || w % grid !== 0)
      throw new Error(
        `layerFeatures: a ${h}x${w} map cannot be pooled to ${grid}x${grid}; use a grid that divides it`,
      );
    return tf.reshape(tf.avgPool(map, [h / grid, w / grid], [h / grid, w / grid], 'valid'), [
      b,
      grid * grid * c,
    ]);
  };
  return featuresInChunks(images, shape, chunk, (x) => {
    const maps = [extractor.predict(x)].flat() as Tensor4D[];
    return tf.concat(maps.map(pool), 1);
  });
}
