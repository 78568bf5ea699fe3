// Checkpoints: everything a run needs to continue bit for bit after a crash.
//
// Layout under `<prefix>/<step>/`:
//   model.json      tfjs model.json format (modelTopology + weightsManifest pointing at weights.bin), so the folder
//                   also loads with tf.loadLayersModel; further models as `<name>.model.json` / `<name>.weights.bin`
//   weights.bin     all weights (trainable and BN moving statistics), one binary in weightsManifest order
//   optimizer.bin   every optimizer's getWeights() tensors back to back (specs in state.json)
//   state.json      step, epoch, RNG state, method state, optimizer class/config/specs, and each file's size + sha256
// `<prefix>/LATEST` names the step folder and is written last, after every file above is in the store, so a crash
// midway leaves LATEST on the previous complete checkpoint. Loading checks each file's size and sha256.
// A save is two halves: snapshotCheckpoint copies the tensors to host memory (training must wait for it), and
// writeCheckpoint stores that copy (training may go on meanwhile).
//
// ml/ does not import storage/: callers pass any object with get/put (storage's Storage fits).
import { createHash } from 'node:crypto';
import type { LayersModel, Optimizer, Tensor } from '@tensorflow/tfjs';
import { activeTf } from './backend.ts';
import { deserializeModel, serializeModel, type ModelStore, type SerializedModel } from './model-artifacts.ts';
import type { RngState } from './rng.ts';

export interface CheckpointStore extends ModelStore {
  /** When present, a missing LATEST means "no checkpoint yet" (loadLatestCheckpoint returns undefined). */
  exists?(key: string): Promise<boolean>;
}

/** tfjs-core's NamedTensor (not re-exported by the tfjs package), as optimizers' getWeights() returns them. */
export interface NamedTensor {
  name: string;
  tensor: Tensor;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface CheckpointInput {
  step: number;
  epoch: number;
  /** The main network is `model`; other networks (e.g. a decoder or discriminator) under their own names. */
  models: Record<string, LayersModel>;
  optimizers?: Record<string, Optimizer>;
  rng?: RngState | Record<string, RngState>;
  /** Anything else the method needs to resume (pseudo-labels, schedules...), as JSON. */
  state?: Json;
}

export interface OptimizerCheckpoint {
  className: string;
  config: Json;
  /** Tensors in getWeights() order; pass them to optimizer.setWeights (or use restoreOptimizer). */
  weights: NamedTensor[];
}

export interface LoadedCheckpoint {
  step: number;
  epoch: number;
  /** Fresh model instances built from the saved topology with the saved weights. */
  models: Record<string, LayersModel>;
  optimizers: Record<string, OptimizerCheckpoint>;
  rng?: RngState | Record<string, RngState>;
  state?: Json;
  /** The key of the step folder it came from. */
  key: string;
}

interface TensorSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
  byteLength: number;
}
interface FileRecord {
  bytes: number;
  sha256: string;
}
interface StateFile {
  format: 'patchwork-checkpoint-1';
  step: number;
  epoch: number;
  models: Record<string, { json: string; weights: string }>;
  optimizers: Record<string, { className: string; config: Json; weights: TensorSpec[] }>;
  rng?: RngState | Record<string, RngState>;
  state?: Json;
  files: Record<string, FileRecord>;
}
interface LatestFile {
  format: 'patchwork-checkpoint-1';
  step: number;
  key: string;
  stateSha256: string;
}

const FORMAT = 'patchwork-checkpoint-1';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const utf8 = (s: string) => new TextEncoder().encode(s);
const trimSlash = (p: string) => p.replace(/\/+$/, '');

export function checkpointKey(prefix: string, step: number): string {
  return `${trimSlash(prefix)}/${step}`;
}

function checkStorable(t: Tensor): void {
  if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`checkpoint: cannot store a ${t.dtype} tensor`);
}

/** Every tensor's bytes back to back in one buffer (one copy out of each tensor), with where each one starts. */
function packTensors(tensors: Tensor[]): { bytes: Uint8Array; offsets: number[] } {
  tensors.forEach(checkStorable);
  const offsets: number[] = [];
  let total = 0;
  for (const t of tensors) {
    offsets.push(total);
    total += t.size * 4;
  }
  const bytes = new Uint8Array(total);
  tensors.forEach((t, i) => {
    const data = t.dataSync() as Float32Array | Int32Array;
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offsets[i]);
  });
  return { bytes, offsets };
}

type WeightsManifestEntry = import('@tensorflow/tfjs').io.WeightsManifestEntry;

/**
 * Every byte of a checkpoint, copied out of the tensors: the run may train on while it is written
 * (writeCheckpoint). Taking it reads each weight once; nothing is hashed or stored yet.
 */
export interface CheckpointSnapshot {
  step: number;
  epoch: number;
  models: Record<string, SerializedModel>;
  optimizers: Record<string, { className: string; config: Json; specs: TensorSpec[] }>;
  optimizerBytes: Uint8Array;
  rng?: RngState | Record<string, RngState>;
  state?: Json;
}

/** Copies the state `input` names into host memory; once it resolves, training may change the weights. */
export async function snapshotCheckpoint(input: CheckpointInput): Promise<CheckpointSnapshot> {
  if (!Number.isSafeInteger(input.step) || input.step < 0)
    throw new TypeError(`saveCheckpoint: step must be an integer >= 0, got ${input.step}`);
  if (!input.models.model)
    throw new TypeError('saveCheckpoint: models must include the main network under the name "model"');
  const models: CheckpointSnapshot['models'] = {};
  for (const [name, model] of Object.entries(input.models)) {
    models[name] = await serializeModel(model);
  }
  const optimizers: CheckpointSnapshot['optimizers'] = {};
  const named: Array<{ optimizer: string; weight: NamedTensor }> = [];
  for (const [name, optimizer] of Object.entries(input.optimizers ?? {})) {
    for (const weight of await optimizer.getWeights()) named.push({ optimizer: name, weight });
    optimizers[name] = { className: optimizer.getClassName(), config: optimizer.getConfig() as Json, specs: [] };
  }
  const packed = packTensors(named.map(({ weight }) => weight.tensor));
  named.forEach(({ optimizer, weight: { name, tensor } }, i) => {
    const dtype = tensor.dtype as 'float32' | 'int32';
    optimizers[optimizer]!.specs.push({ name, shape: tensor.shape, dtype, offset: packed.offsets[i]!, byteLength: tensor.size * 4 });
    // getWeights() makes a fresh tensor for the iteration count; the slots are the optimizer's own variables.
    if (!isVariable(tensor)) tensor.dispose();
  });
  return {
    step: input.step,
    epoch: input.epoch,
    models,
    optimizers,
    optimizerBytes: packed.bytes,
    ...(input.rng !== undefined ? { rng: structuredClone(input.rng) } : {}),
    ...(input.state !== undefined ? { state: structuredClone(input.state) } : {}),
  };
}

const isVariable = (tensor: Tensor) => 'trainable' in tensor;

export interface WriteCheckpointOptions {
  /** Awaited after the data files are stored and before LATEST moves (e.g. the logs of the steps before it). */
  beforePointer?: () => Promise<void>;
}

/** Stores a snapshot: the data files, then state.json, then LATEST. Returns the step folder's key. */
export async function writeCheckpoint(
  store: CheckpointStore,
  prefix: string,
  snapshot: CheckpointSnapshot,
  options: WriteCheckpointOptions = {},
): Promise<string> {
  const key = checkpointKey(prefix, snapshot.step);
  const files: Record<string, FileRecord> = {};
  const writes: Promise<void>[] = [];
  const put = (name: string, bytes: Uint8Array) => {
    files[name] = { bytes: bytes.byteLength, sha256: sha256(bytes) };
    writes.push(store.put(`${key}/${name}`, bytes));
  };

  const models: StateFile['models'] = {};
  for (const [name, art] of Object.entries(snapshot.models)) {
    const base = name === 'model' ? '' : `${name}.`;
    const modelJson = {
      format: 'layers-model',
      generatedBy: 'patchwork checkpoint',
      modelTopology: art.topology,
      weightsManifest: [{ paths: [`${base}weights.bin`], weights: art.specs }],
    };
    put(`${base}weights.bin`, art.weights);
    put(`${base}model.json`, utf8(JSON.stringify(modelJson)));
    models[name] = { json: `${base}model.json`, weights: `${base}weights.bin` };
  }
  put('optimizer.bin', snapshot.optimizerBytes);
  // Settle every write before state.json, so a failed one never leaves another still landing after the error.
  const results = await Promise.allSettled(writes);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;

  const optimizers: StateFile['optimizers'] = {};
  for (const [name, o] of Object.entries(snapshot.optimizers)) {
    optimizers[name] = { className: o.className, config: o.config, weights: o.specs };
  }
  const state: StateFile = {
    format: FORMAT,
    step: snapshot.step,
    epoch: snapshot.epoch,
    models,
    optimizers,
    ...(snapshot.rng !== undefined ? { rng: snapshot.rng } : {}),
    ...(snapshot.state !== undefined ? { state: snapshot.state } : {}),
    files,
  };
  const stateBytes = utf8(JSON.stringify(state));
  await store.put(`${key}/state.json`, stateBytes);
  await options.beforePointer?.();
  // Last: the pointer. Until this put completes, LATEST still names the previous complete checkpoint.
  const latest: LatestFile = { format: FORMAT, step: snapshot.step, key, stateSha256: sha256(stateBytes) };
  await store.put(latestPointerKey(prefix), utf8(JSON.stringify(latest)));
  return key;
}

export async function saveCheckpoint(store: CheckpointStore, prefix: string, input: CheckpointInput): Promise<string> {
  return writeCheckpoint(store, prefix, await snapshotCheckpoint(input));
}

const latestPointerKey = (prefix: string) => `${trimSlash(prefix)}/LATEST`;

/** The step of the newest complete checkpoint under `prefix` (from LATEST alone), 0 when there is none yet. */
export async function latestCheckpointStep(store: CheckpointStore, prefix: string): Promise<number> {
  const key = latestPointerKey(prefix);
  if (store.exists && !(await store.exists(key))) return 0;
  return (JSON.parse(new TextDecoder().decode(await store.get(key))) as { step: number }).step;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** The newest complete checkpoint under `prefix`, or undefined when there is none yet (store.exists says so). */
export async function loadLatestCheckpoint(
  store: CheckpointStore,
  prefix: string,
): Promise<LoadedCheckpoint | undefined> {
  const latestKey = latestPointerKey(prefix);
  if (store.exists && !(await store.exists(latestKey))) return undefined;
  let latest: LatestFile;
  try {
    latest = JSON.parse(new TextDecoder().decode(await store.get(latestKey))) as LatestFile;
  } catch (error) {
    throw new CheckpointError(
      `checkpoint pointer ${latestKey} cannot be read or is not JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (latest?.format !== FORMAT || typeof latest.key !== 'string') {
    throw new CheckpointError(
      `checkpoint pointer ${latestKey} is not a ${FORMAT} pointer: ${JSON.stringify(latest).slice(0, 200)}`,
    );
  }
  return loadCheckpointAt(store, latest.key, latest.stateSha256, latestKey);
}

async function getChecked(
  store: CheckpointStore,
  key: string,
  expect: FileRecord | undefined,
  via: string,
): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(key);
  } catch (error) {
    throw new CheckpointError(
      `checkpoint file ${key} (named by ${via}) is missing or unreadable: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (expect && (bytes.byteLength !== expect.bytes || sha256(bytes) !== expect.sha256)) {
    throw new CheckpointError(
      `checkpoint file ${key} is corrupt: ${bytes.byteLength} bytes with sha256 ${sha256(bytes).slice(0, 12)}..., expected ` +
        `${expect.bytes} bytes with sha256 ${expect.sha256.slice(0, 12)}...`,
    );
  }
  return bytes;
}

/** Loads the checkpoint in folder `key` (e.g. checkpointKey(prefix, step)); stateSha256 is checked when given. */
export async function loadCheckpointAt(
  store: CheckpointStore,
  key: string,
  stateSha256?: string,
  via = key,
): Promise<LoadedCheckpoint> {
  const tf = activeTf();
  const stateBytes = await getChecked(store, `${key}/state.json`, undefined, via);
  if (stateSha256 && sha256(stateBytes) !== stateSha256) {
    throw new CheckpointError(
      `checkpoint file ${key}/state.json is corrupt: its sha256 does not match the one in ${via}`,
    );
  }
  const state = JSON.parse(new TextDecoder().decode(stateBytes)) as StateFile;
  const file = (name: string) => getChecked(store, `${key}/${name}`, state.files[name], `${key}/state.json`);

  const models: Record<string, LayersModel> = {};
  for (const [name, rec] of Object.entries(state.models)) {
    const json = JSON.parse(new TextDecoder().decode(await file(rec.json))) as {
      modelTopology: object;
      weightsManifest: { weights: WeightsManifestEntry[] }[];
    };
    models[name] = await deserializeModel({
      topology: json.modelTopology,
      specs: json.weightsManifest[0]!.weights,
      weights: await file(rec.weights),
    });
  }

  const optimizers: Record<string, OptimizerCheckpoint> = {};
  const names = Object.keys(state.optimizers);
  if (names.length > 0) {
    const bin = await file('optimizer.bin');
    for (const name of names) {
      const o = state.optimizers[name]!;
      const weights = o.weights.map((s) => {
        const slice = new Uint8Array(bin.subarray(s.offset, s.offset + s.byteLength)); // a copy: aligned, and Buffer.slice would be a view
        const values = s.dtype === 'int32' ? new Int32Array(slice.buffer) : new Float32Array(slice.buffer);
        return { name: s.name, tensor: tf.tensor(values, s.shape, s.dtype) };
      });
      optimizers[name] = { className: o.className, config: o.config, weights };
    }
  }
  return {
    step: state.step,
    epoch: state.epoch,
    models,
    optimizers,
    ...(state.rng !== undefined ? { rng: state.rng } : {}),
    ...(state.state !== undefined ? { state: state.state } : {}),
    key,
  };
}

/**
 * Gives `optimizer` the saved state. The optimizer must be of the saved class and be used with the same variables in
 * the same order (tfjs optimizers match slots by position): build the model from the checkpoint, then this.
 */
export async function restoreOptimizer(optimizer: Optimizer, saved: OptimizerCheckpoint): Promise<void> {
  if (optimizer.getClassName() !== saved.className) {
    throw new CheckpointError(
      `restoreOptimizer: checkpoint holds a ${saved.className} state, the optimizer is a ${optimizer.getClassName()}`,
    );
  }
  await optimizer.setWeights(saved.weights);
  if (saved.className === 'Adam') restoreAdamBiasCorrections(optimizer as unknown as AdamInternals);
}

interface AdamInternals {
  beta1: number;
  beta2: number;
  iterations: number;
  accBeta1: import('@tensorflow/tfjs').Variable;
  accBeta2: import('@tensorflow/tfjs').Variable;
}

/**
 * tfjs's Adam keeps beta^(t+1) by multiplying by beta in float32 at every step, but setWeights recomputes it with pow(),
 * which differs in the last bits: puts back the product a run that never stopped holds, so resuming is bit-exact.
 */
function restoreAdamBiasCorrections(adam: AdamInternals): void {
  const product = (beta: number) => {
    const factor = Math.fround(beta);
    let value = factor;
    for (let i = 0; i < adam.iterations; i++) value = Math.fround(value * factor);
    return value;
  };
  const tf = activeTf();
  tf.tidy(() => {
    adam.accBeta1.assign(tf.scalar(product(adam.beta1)));
    adam.accBeta2.assign(tf.scalar(product(adam.beta2)));
  });
}
