// A Keras model saved with model.save('x.h5') (the HDF5 format of Keras 2 and of Keras 3's legacy saver) as a tfjs
// LayersModel: the architecture from the file's `model_config` attribute, the weights from `model_weights/`.
// Keras 3 writes its config in a newer dialect; it is rewritten to the Keras 2 form tfjs-layers reads.
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { openSync, readSync, closeSync } from 'node:fs';
import h5wasm, { type Dataset, type File as H5File, type Group } from 'h5wasm/node';
import { activeTf } from '../backend.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Keras 3 `{"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}}` -> "float32". */
function plainDtype(dtype: Json): Json {
  if (isObject(dtype) && dtype.class_name === 'DTypePolicy' && isObject(dtype.config)) return dtype.config.name ?? null;
  return dtype;
}

/** A Keras 3 node argument (`__keras_tensor__` with `keras_history`) -> the Keras 2 `[layer, node, tensor, {}]`. */
function historyOf(arg: Json): Json[] | undefined {
  if (isObject(arg) && arg.class_name === '__keras_tensor__' && isObject(arg.config)) {
    const history = arg.config.keras_history;
    if (Array.isArray(history)) return [...history, {}];
  }
  return undefined;
}

function keras2InboundNodes(nodes: Json): Json {
  if (!Array.isArray(nodes)) return nodes;
  return nodes.map((node) => {
    if (!isObject(node) || !Array.isArray(node.args)) return node;
    const tensors: Json[] = [];
    for (const arg of node.args) {
      const list = Array.isArray(arg) ? arg : [arg];
      for (const item of list) {
        const history = historyOf(item);
        if (history) tensors.push(history);
      }
    }
    return tensors;
  });
}

/** Functional `input_layers`/`output_layers`: Keras 3 writes a single endpoint as a flat `[name, 0, 0]`. */
function endpointList(value: Json): Json {
  if (Array.isArray(value) && typeof value[0] === 'string') return [value];
  return value;
}

function keras2Layer(layer: JsonObject): JsonObject {
  const config: JsonObject = isObject(layer.config) ? { ...layer.config } : {};
  if ('dtype' in config) config.dtype = plainDtype(config.dtype);
  if (layer.class_name === 'InputLayer' && 'batch_shape' in config && !('batch_input_shape' in config)) {
    config.batch_input_shape = config.batch_shape;
    delete config.batch_shape;
  }
  if (layer.class_name === 'BatchNormalization' && Array.isArray(config.axis) && config.axis.length === 1) {
    config.axis = config.axis[0];
  }
  // Keras keeps the generic kernel_* fields on separable convolutions; tfjs-layers refuses them there.
  if (layer.class_name === 'SeparableConv2D' || layer.class_name === 'DepthwiseConv2D') {
    for (const key of ['kernel_initializer', 'kernel_regularizer', 'kernel_constraint']) delete config[key];
  }
  const out: JsonObject = { ...layer, config };
  if ('inbound_nodes' in layer) out.inbound_nodes = keras2InboundNodes(layer.inbound_nodes);
  return out;
}

/** The model config in the Keras 2 form tfjs-layers deserialises (Keras 2 configs pass through unchanged). */
export function keras2ModelConfig(modelConfig: JsonObject): JsonObject {
  const config = isObject(modelConfig.config) ? { ...modelConfig.config } : {};
  if (Array.isArray(config.layers)) config.layers = config.layers.map((l) => (isObject(l) ? keras2Layer(l) : l));
  if ('input_layers' in config) config.input_layers = endpointList(config.input_layers);
  if ('output_layers' in config) config.output_layers = endpointList(config.output_layers);
  const className = modelConfig.class_name === 'Functional' ? 'Model' : modelConfig.class_name;
  return { ...modelConfig, class_name: className, config };
}

function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') return [value];
  return [];
}

/** The last path segment without TensorFlow's `:0` suffix: `conv2d/kernel:0` -> `kernel`. */
const weightBaseName = (name: string) => name.replace(/:\d+$/, '').split('/').pop() ?? name;

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** HDF5 files start with an 8-byte signature (at offset 0 unless the file has a user block, which Keras never writes). */
function assertHdf5(path: string): void {
  const head = Buffer.alloc(8);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new Error(`cannot open Keras model ${path}: ${(error as Error).message}`);
  }
  try {
    readSync(fd, head, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  if (!head.equals(HDF5_SIGNATURE)) {
    throw new Error(`${path} is not a readable HDF5 file: a Keras .h5 model is written by model.save("model.h5")`);
  }
}

export async function loadKerasH5(path: string): Promise<LayersModel> {
  assertHdf5(path);
  await h5wasm.ready;
  const file = new h5wasm.File(path, 'r');
  try {
    const raw = file.attrs.model_config?.value;
    if (typeof raw !== 'string') {
      throw new Error(
        `${path} holds no model_config: it was saved with save_weights(), so the architecture is missing. Save the ` +
          'whole model with model.save("model.h5"), or convert it with tensorflowjs_converter',
      );
    }
    const tf = activeTf();
    const topology = keras2ModelConfig(JSON.parse(raw) as JsonObject);
    let model: LayersModel;
    try {
      model = (await tf.models.modelFromJSON({ modelTopology: topology as never })) as LayersModel;
    } catch (error) {
      throw new Error(`${path}: tfjs cannot rebuild this Keras model (${(error as Error).message})`);
    }
    setWeights(model, file, path);
    return model;
  } finally {
    file.close();
  }
}

function setWeights(model: LayersModel, file: H5File, path: string): void {
  const tf = activeTf();
  const root = (file.get('model_weights') as Group | null) ?? file;
  const layerNames = stringList(root.attrs.layer_names?.value);
  for (const layerName of layerNames) {
    const group = root.get(layerName) as Group | null;
    const weightNames = stringList(group?.attrs.weight_names?.value);
    if (!group || weightNames.length === 0) continue;
    let layer;
    try {
      layer = model.getLayer(layerName);
    } catch {
      throw new Error(`${path}: weights for layer ${layerName}, which the model config does not define`);
    }
    const byName = new Map<string, Tensor>();
    for (const weightName of weightNames) {
      const dataset = group.get(weightName) as Dataset | null;
      if (!dataset) throw new Error(`${path}: model_weights/${layerName}/${weightName} is missing`);
      const values = dataset.value as Float32Array | Float64Array;
      byName.set(weightBaseName(weightName), tf.tensor(Float32Array.from(values), dataset.shape ?? []));
    }
    const ordered = layer.weights.map((w) => {
      const tensor = byName.get(weightBaseName(w.originalName));
      if (!tensor) {
        throw new Error(
          `${path}: layer ${layerName} needs weight ${w.originalName}; the file has ${weightNames.join(', ')}`,
        );
      }
      return tensor;
    });
    layer.setWeights(ordered);
    for (const tensor of byName.values()) tensor.dispose();
  }
}
