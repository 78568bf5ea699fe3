// A pretraining run's records in the store (keys in layout.ts): its spec and file lists, written once when the run is
// prepared, and DeepCluster's pseudo-labels, one file per refit.
import type { AugmentParams, InputOptions } from '../ml/data/index.ts';
import { KeyList } from '../ml/data/key-list.ts';
import type { PretrainMethod, PretrainPlan } from '../contracts/pretrain.ts';
import { filesKey, pseudoLabelsKey, specKey, testFilesKey } from './layout.ts';
import type { Storage } from './storage.ts';

export interface RunSpec {
  version: 1;
  runId: string;
  method: PretrainMethod;
  images: string;
  input: InputOptions;
  augment: AugmentParams | null;
  methodConfig: Record<string, unknown>;
  /** The config's free-text notes (the original trainers' `notes`), an hparam of the run. */
  notes?: string;
  seed: number;
  epochs: number;
  /** file key -> class name, for downstream monitoring. */
  labels?: Record<string, string>;
  /** Multi-label downstream monitoring: file key -> 1, 0 or -1 (unknown) per class. */
  multiLabels?: { classes: string[]; labels: Record<string, number[]> };
  /** Folder or s3:// location of the test images (their keys are in test-files.txt). */
  testImages?: string;
  /** Store key of the copied model the feature extractor starts from (initialModelKey), if the run has one. */
  initialModel?: string;
  plan: PretrainPlan;
}

/** A refit's cluster assignment of every file (file-list order) and, with test images, of the test images. */
export interface PseudoLabels {
  labels: number[];
  nmi: number;
  sizes: number[];
  testLabels?: number[];
}

const text = async (store: Storage, key: string) => (await store.get(key)).toString('utf8');

/** Writes the run's test file list (when there is one), its file list, then its spec. */
export async function saveRunInputs(store: Storage, spec: RunSpec, files: string[], testFiles: string[]): Promise<void> {
  if (testFiles.length > 0) await store.put(testFilesKey(spec.runId), testFiles.join('\n'));
  await store.put(filesKey(spec.runId), files.join('\n'));
  await store.put(specKey(spec.runId), JSON.stringify(spec, null, 2));
}

export async function readRunSpec(store: Storage, runId: string): Promise<RunSpec> {
  return JSON.parse(await text(store, specKey(runId))) as RunSpec;
}

/** The run's training keys, held packed (see KeyList): a list of millions of keys stays a few bytes per key. */
export async function readFileList(store: Storage, runId: string): Promise<KeyList> {
  return KeyList.fromText(await store.get(filesKey(runId)));
}

export async function readTestFileList(store: Storage, runId: string): Promise<string[]> {
  return (await text(store, testFilesKey(runId))).split('\n');
}

export async function savePseudoLabels(store: Storage, runId: string, epoch: number, labels: PseudoLabels): Promise<void> {
  await store.put(pseudoLabelsKey(runId, epoch), JSON.stringify(labels));
}

export async function readPseudoLabels(store: Storage, runId: string, epoch: number): Promise<PseudoLabels> {
  return JSON.parse(await text(store, pseudoLabelsKey(runId, epoch))) as PseudoLabels;
}

/** The pseudo-labels of the refit at `epoch`, or undefined when that refit wrote none. */
export async function readPseudoLabelsIfAny(store: Storage, runId: string, epoch: number): Promise<PseudoLabels | undefined> {
  if (!(await store.exists(pseudoLabelsKey(runId, epoch)))) return undefined;
  return readPseudoLabels(store, runId, epoch);
}

/** The run's settings that matter for comparing runs in TensorBoard's HParams dashboard. */
export function runHparams(spec: RunSpec): Record<string, string | number | boolean> {
  const values: Record<string, string | number | boolean> = {
    method: spec.method,
    batch_size: spec.input.batch_size,
    sobel: spec.input.sobel,
    augment: spec.augment !== null,
    ...(spec.notes ? { notes: spec.notes } : {}),
  };
  for (const [key, value] of Object.entries(spec.methodConfig)) {
    if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') values[key] = value;
  }
  return values;
}
