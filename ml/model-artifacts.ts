// A tfjs layers model as bytes in a store and back: tfjs's own serialisation (model.json topology, weight specs, one
// weights binary). Checkpoints and exported feature extractors both use it.
//
// ml/ does not import storage/: callers pass any object with get/put (storage's Storage fits).
import type { LayersModel } from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { activeTf } from './tf-instance.ts';

type WeightsManifestEntry = import('@tensorflow/tfjs').io.WeightsManifestEntry;

export interface ModelStore {
  get(key: string): Promise<Uint8Array>;
  put(key: string, data: Uint8Array | string): Promise<void>;
}

/** A model's topology, weight specs and all its weights as one binary. */
export interface SerializedModel {
  topology: unknown;
  specs: WeightsManifestEntry[];
  weights: Uint8Array;
}

/** model.json as tf.loadLayersModel reads it; `weightsManifest` paths are relative to model.json's folder. */
export interface LayersModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: WeightsManifestEntry[] }[];
  format?: string;
  generatedBy?: string;
  userDefinedMetadata?: Record<string, unknown>;
}

export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The model through model.save, captured in memory. */
export async function serializeModel(model: LayersModel): Promise<SerializedModel> {
  const tf = activeTf();
  let captured: import('@tensorflow/tfjs').io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  if (!captured?.weightSpecs || captured.weightData === undefined)
    throw new Error(`checkpoint: model ${model.name} saved no weights`);
  const data = captured.weightData;
  const weights = Array.isArray(data) ? concatBytes(data.map((b) => new Uint8Array(b))) : new Uint8Array(data);
  return { topology: captured.modelTopology, specs: captured.weightSpecs, weights };
}

/** A fresh model built from serialised topology and weights. */
export async function deserializeModel(serialized: SerializedModel): Promise<LayersModel> {
  const tf = activeTf();
  const { weights } = serialized;
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: serialized.topology as object, weightSpecs: serialized.specs, weightData }),
  );
}

const fileName = (key: string) => key.slice(key.lastIndexOf('/') + 1);
const folderOf = (key: string) => (key.includes('/') ? key.slice(0, key.lastIndexOf('/')) : '');

/**
 * Writes `model` as a tfjs layers model: the weights at `keys.weights`, then model.json at `keys.model` (same folder),
 * with `metadata` as its userDefinedMetadata. Returns the sha256 over model.json and the weights, and their size.
 */
export async function exportLayersModel(
  store: ModelStore,
  keys: { model: string; weights: string },
  model: LayersModel,
  metadata: Record<string, unknown>,
): Promise<{ sha256: string; bytes: number }> {
  const serialized = await serializeModel(model);
  await store.put(keys.weights, serialized.weights);
  const modelJson = new TextEncoder().encode(
    JSON.stringify({
      modelTopology: serialized.topology,
      format: 'layers-model',
      generatedBy: 'patchwork',
      weightsManifest: [{ paths: [fileName(keys.weights)], weights: serialized.specs }],
      userDefinedMetadata: metadata,
    }),
  );
  await store.put(keys.model, modelJson);
  const sha256 = createHash('sha256').update(modelJson).update(serialized.weights).digest('hex');
  return { sha256, bytes: modelJson.byteLength + serialized.weights.byteLength };
}

export function parseLayersModelJson(bytes: Uint8Array): LayersModelJson {
  return JSON.parse(new TextDecoder().decode(bytes)) as LayersModelJson;
}

/** Loads the model that `json` (read from `modelKey`) describes, reading its weight files from the same folder. */
export async function loadLayersModelFrom(
  store: Pick<ModelStore, 'get'>,
  modelKey: string,
  json: LayersModelJson,
): Promise<LayersModel> {
  const folder = folderOf(modelKey);
  const shards = await Promise.all(
    json.weightsManifest.flatMap((group) => group.paths).map((path) => store.get(folder ? `${folder}/${path}` : path)),
  );
  return deserializeModel({
    topology: json.modelTopology,
    specs: json.weightsManifest.flatMap((group) => group.weights),
    weights: concatBytes(shards),
  });
}

/** sha256 over every weight's dtype, shape and bytes: the same weights give the same hash whatever the file layout. */
export function weightsHash(model: LayersModel): string {
  const hash = createHash('sha256');
  for (const w of model.getWeights()) {
    hash.update(`${w.dtype}[${w.shape.join(',')}]`);
    const values = w.dataSync() as Float32Array;
    hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return hash.digest('hex').slice(0, 16);
}
