// Frozen feature extractors for embedding: a pretraining run's exported model from the store, or a user's model by
// path or URL. Loaded once per worker process and kept for the next chunks of the same run.
import { ApplicationFailure } from '@temporalio/activity';
import type { LayersModel } from '@tensorflow/tfjs';
import { LRUCache } from 'lru-cache';
import { initBackend } from '../ml/backend.ts';
import { parseInputOptions, type InputOptions } from '../ml/data/index.ts';
import { loadLayersModelFrom, parseLayersModelJson, weightsHash, type LayersModelJson } from '../ml/model-artifacts.ts';
import { assertFullyConvolutional, loadFeatureModel } from '../ml/models/load.ts';
import { StorageError, type Storage } from '../storage/index.ts';
import { modelDir, modelKey } from '../storage/layout.ts';
import type { ModelRef } from '../contracts/embed.ts';

export interface LoadedExtractor {
  model: LayersModel;
  hash: string;
  input: InputOptions;
  dim: number;
}

const nonRetryable = (type: string, message: string) => ApplicationFailure.create({ type, message, nonRetryable: true });

export const refName = (ref: ModelRef) => (ref.run ? `run:${ref.run}` : `path:${ref.path}`);

/** Extractors a worker keeps loaded; embedding runs one model at a time, so a few cover runs that alternate. */
const CACHED_EXTRACTORS = 4;

/** Loaded extractors per worker process, so consecutive chunks skip reloading; the least recently used is freed. */
const cache = new LRUCache<string, LoadedExtractor>({
  max: CACHED_EXTRACTORS,
  dispose: (extractor) => extractor.model.dispose(),
});

/** A pretraining run's exported model.json; a run that has not exported one is a configuration error. */
async function readExportedModelJson(store: Storage, run: string): Promise<LayersModelJson> {
  try {
    return parseLayersModelJson(await store.get(modelKey(run)));
  } catch (error) {
    if (error instanceof StorageError && error.code === 'NOT_FOUND') {
      throw nonRetryable('BadConfigError', `model.run: no exported model at ${modelKey(run)} (has pretraining run ${run} finished?)`);
    }
    throw error;
  }
}

/** The extractor `ref` names, with its input options (the run's, overridden by `inputOverride`). */
export async function loadExtractor(
  store: Storage,
  ref: ModelRef,
  inputOverride: Record<string, unknown> = {},
): Promise<LoadedExtractor> {
  const name = `${refName(ref)} ${JSON.stringify(inputOverride)}`;
  const cached = cache.get(name);
  if (cached) return cached;
  if (!ref.run === !ref.path) throw nonRetryable('BadConfigError', 'model: give exactly one of run (a pretraining run id) or path');
  await initBackend({ purpose: 'infer' });
  let model: LayersModel;
  let input: InputOptions;
  try {
    if (ref.run) {
      const json = await readExportedModelJson(store, ref.run);
      input = parseInputOptions({ ...((json.userDefinedMetadata?.input ?? {}) as object), ...inputOverride } as never);
      model = await loadLayersModelFrom(store, modelKey(ref.run), json);
      assertFullyConvolutional(model, input.sobel ? 3 : input.num_channels, modelDir(ref.run));
    } else {
      input = parseInputOptions(inputOverride as never);
      model = await loadFeatureModel(ref.path!, { channels: input.sobel ? 3 : input.num_channels });
    }
  } catch (error) {
    if (error instanceof ApplicationFailure) throw error;
    if (error instanceof StorageError) throw error;
    // A model that does not load or is not fully convolutional will not load on a retry either.
    throw nonRetryable('BadConfigError', (error as Error).message);
  }
  const dim = model.outputs[0]!.shape[3] as number;
  const loaded = { model, hash: weightsHash(model), input, dim };
  cache.set(name, loaded);
  return loaded;
}

/** The extractor, checked to be the one the embedding run started with. */
export async function loadExtractorOf(
  store: Storage,
  ref: ModelRef,
  inputOverride: Record<string, unknown> | undefined,
  expectedHash: string,
): Promise<LoadedExtractor> {
  const loaded = await loadExtractor(store, ref, inputOverride);
  if (loaded.hash !== expectedHash) {
    throw nonRetryable(
      'ModelChangedError',
      `the model's weights changed since this run started (hash ${loaded.hash}, expected ${expectedHash})`,
    );
  }
  return loaded;
}
