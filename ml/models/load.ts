// Loading a user's own feature extractor: a tfjs LayersModel (model.json + weight shards) from a local path, a
// file:// URL or an http(s) URL, or a Keras model saved as a local .h5 file. It must be fully convolutional (a
// [B, h, w, k] feature map out, no Dense/Flatten) and take the configured number of channels.
import type { LayersModel } from '@tensorflow/tfjs';
import { statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { activeTf } from '../backend.ts';
import { checkChannels } from './common.ts';
import { loadKerasH5 } from './keras-h5.ts';

/** Layer classes that tie a model to one input size or collapse the spatial map. */
const NOT_FULLY_CONVOLUTIONAL = new Set([
  'Dense',
  'Flatten',
  'Reshape',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'GlobalAveragePooling1D',
  'GlobalMaxPooling1D',
]);

/** A local path or file:// URL (a model.json or the folder holding it) or an http(s) URL, as tf.loadLayersModel wants it. */
export function modelUrl(pathOrUrl: string): string {
  if (/^https?:\/\//.test(pathOrUrl)) return pathOrUrl;
  const path = pathOrUrl.startsWith('file://') ? pathOrUrl.slice('file://'.length) : pathOrUrl;
  let abs = isAbsolute(path) ? path : resolve(path);
  // A folder written by model.save('file://dir') holds model.json; accept the folder as well as the file.
  if (statSync(abs, { throwIfNoEntry: false })?.isDirectory()) abs = join(abs, 'model.json');
  // tfjs-node's file:// handler wants a plain path after the scheme, not a percent-encoded URL.
  return `file://${decodeURI(pathToFileURL(abs).pathname)}`;
}

/** Throws a message naming the problem when `model` cannot serve as a feature extractor for `channels` inputs. */
export function assertFullyConvolutional(model: LayersModel, channels: number, source = model.name): void {
  const where = `model ${source}`;
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(
      `${where} has ${model.inputs.length} inputs and ${model.outputs.length} outputs; a feature extractor needs one of each`,
    );
  }
  const inShape = model.inputs[0]!.shape;
  if (inShape.length !== 4) {
    throw new Error(
      `${where} takes input of shape ${JSON.stringify(inShape)}; it must take images [batch, height, width, channels]`,
    );
  }
  if (inShape[3] !== channels) {
    throw new Error(
      `${where} takes ${String(inShape[3])} input channels but the data has ${channels}; retrain or rebuild it with ${channels}`,
    );
  }
  const bad = model.layers.filter((l) => NOT_FULLY_CONVOLUTIONAL.has(l.getClassName()));
  if (bad.length > 0) {
    const names = bad.map((l) => `${l.name} (${l.getClassName()})`).join(', ');
    throw new Error(
      `${where} is not fully convolutional: it contains ${names}. Remove the head so the model ends in a convolutional ` +
        'feature map [batch, h, w, k]; patchwork adds its own pooling and heads',
    );
  }
  const outShape = model.outputs[0]!.shape;
  if (outShape.length !== 4) {
    throw new Error(
      `${where} outputs shape ${JSON.stringify(outShape)}; it must output a feature map [batch, h, w, k]`,
    );
  }
}

export async function loadFeatureModel(
  pathOrUrl: string,
  options: { channels: number },
): Promise<LayersModel> {
  const tf = activeTf();
  const channels = checkChannels('loadFeatureModel', options.channels);
  let model: LayersModel;
  if (/\.(h5|hdf5)$/i.test(pathOrUrl) && !/^https?:\/\//.test(pathOrUrl)) {
    model = await loadKerasH5(pathOrUrl.replace(/^file:\/\//, ''));
  } else {
    const url = modelUrl(pathOrUrl);
    try {
      model = await tf.loadLayersModel(url);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`could not load a tfjs LayersModel from ${pathOrUrl} (${url}): ${message}`);
    }
  }
  try {
    assertFullyConvolutional(model, channels, pathOrUrl);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
