// Embeddings as feature maps (`patchwork embed --feature-maps`): the extractor's last feature map of each image,
// unpooled, stored as rows of h * w * c values (channels last) under a model hash of their own, so maps never mix
// with the same model's pooled vectors.
import { createHash } from 'node:crypto';
import type { LayersModel, Tensor2D, Tensor4D } from '@tensorflow/tfjs';
import { activeTf } from '../ml/backend.ts';
import type { MapShape } from '../storage/embeddings.ts';
import type { LoadedExtractor } from './feature-extractors.ts';

/** Default largest map per image (128 KiB of float32): a labeling round holds every image's map in memory. */
export const MAX_MAP_VALUES = 32_768;

/** The embeddings' folder name for feature maps of `shape` from the weights hashed `weightsHash` (16 hex). */
export function featureMapsHash(weightsHash: string, shape: MapShape): string {
  return createHash('sha256').update(`${weightsHash} feature maps ${shape.join('x')}`).digest('hex').slice(0, 16);
}

/** The shape of the extractor's feature map for one image of its input size. */
export function featureMapShape(extractor: LoadedExtractor): MapShape {
  const tf = activeTf();
  const [height, width] = extractor.input.imshape;
  const channels = (extractor.model.inputs[0]!.shape[3] as number | null) ?? (extractor.input.sobel ? 3 : extractor.input.num_channels);
  const shape = tf.tidy(() => (extractor.model.predict(tf.zeros([1, height, width, channels])) as Tensor4D).shape);
  return shape.slice(1) as MapShape;
}

/** Refuses maps too large to hold for every image of a project, naming the ways out. */
export function checkMapSize(shape: MapShape, limit = MAX_MAP_VALUES): void {
  const values = shape[0] * shape[1] * shape[2];
  if (values > limit)
    throw new Error(
      `feature maps of ${shape.join(' x ')} = ${values} values per image exceed the limit of ${limit}: a labeling round holds every image's map in memory. ` +
        `Embed smaller images (input.imshape), raise the limit with --max-map-values ${values}, or embed pooled vectors (without --feature-maps)`,
    );
}

/** A batch's feature maps as rows [n, h * w * c]. */
export function featureMapRows(
  model: LayersModel,
  batch: { images: Float32Array; shape: [number, number, number, number] },
  expected: MapShape,
): Tensor2D {
  const tf = activeTf();
  return tf.tidy(() => {
    const maps = model.predict(tf.tensor4d(batch.images, batch.shape)) as Tensor4D;
    const shape = maps.shape.slice(1);
    if (JSON.stringify(shape) !== JSON.stringify(expected))
      throw new Error(`feature maps came out [${shape.join(', ')}], expected [${expected.join(', ')}] when the run started`);
    return tf.reshape(maps, [maps.shape[0], -1]) as Tensor2D;
  });
}
