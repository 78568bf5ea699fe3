// A labeling round's inputs and outputs in the store (keys in layout.ts), so every activity of the round, and its
// retries on any worker, read what the previous one wrote.
import { StorageError } from './errors.ts';
import {
  latestQueueKey,
  queueKey,
  roundClassesKey,
  roundHeadKey,
  roundKeysKey,
  roundLabelsKey,
  roundLossesKey,
  roundProbsKey,
  roundRecipeKey,
} from './layout.ts';
import type { Storage } from './storage.ts';

export interface RoundQueue {
  round: number;
  sort: string;
  keys: string[];
  note?: string;
}

async function readJson<T>(store: Storage, key: string): Promise<T> {
  return JSON.parse((await store.get(key)).toString('utf8')) as T;
}

/** Float32 values of a stored .f32 object (copied: the Buffer may be an unaligned view into a pool). */
const float32Of = (bytes: Buffer) => new Float32Array(new Uint8Array(bytes).buffer);

export async function saveRoundLabels(store: Storage, runId: string, round: number, csv: string, classes: string[]) {
  await store.put(roundLabelsKey(runId, round), csv);
  await store.put(roundClassesKey(runId, round), JSON.stringify({ classes }));
}

export async function readRoundLabels(store: Storage, runId: string, round: number): Promise<{ csv: string; classes: string[] }> {
  const { classes } = await readJson<{ classes: string[] }>(store, roundClassesKey(runId, round));
  return { csv: (await store.get(roundLabelsKey(runId, round))).toString('utf8'), classes };
}

/** A round's settings besides its labels: enough, with the stored labels and embeddings, to compute it again. */
export interface RoundRecipe {
  modelHash: string;
  head: Record<string, unknown>;
  seed: number;
  /** The round whose head warm-started this one's (linear and mlp heads). */
  previousRound?: number;
  sort?: string;
  queueSize?: number;
}

/** Adds `part` to the round's recipe (fine-tuning writes the head's part, ranking the queue's). */
export async function saveRoundRecipe(store: Storage, runId: string, round: number, part: Partial<RoundRecipe>): Promise<void> {
  const key = roundRecipeKey(runId, round);
  const earlier = (await store.exists(key)) ? await readJson<Partial<RoundRecipe>>(store, key) : {};
  await store.put(key, JSON.stringify({ ...earlier, ...part }));
}

export function readRoundRecipe(store: Storage, runId: string, round: number): Promise<RoundRecipe> {
  return readJson<RoundRecipe>(store, roundRecipeKey(runId, round));
}

export async function saveRoundHead(store: Storage, runId: string, round: number, head: unknown): Promise<void> {
  await store.put(roundHeadKey(runId, round), JSON.stringify(head));
}

export function readRoundHead<T>(store: Storage, runId: string, round: number): Promise<T> {
  return readJson<T>(store, roundHeadKey(runId, round));
}

/** A round's head, or undefined when that round stored none. */
export async function readRoundHeadIfAny<T>(store: Storage, runId: string, round: number): Promise<T | undefined> {
  try {
    return await readRoundHead<T>(store, runId, round);
  } catch (error) {
    if (error instanceof StorageError && error.code === 'NOT_FOUND') return undefined;
    throw error;
  }
}

export async function saveRoundLosses(store: Storage, runId: string, round: number, losses: number[]): Promise<void> {
  await store.put(roundLossesKey(runId, round), JSON.stringify({ losses }));
}

/** The round's per-step training losses, or undefined for a round that stored none (rounds before they were kept). */
export async function readRoundLosses(store: Storage, runId: string, round: number): Promise<number[] | undefined> {
  try {
    return (await readJson<{ losses: number[] }>(store, roundLossesKey(runId, round))).losses;
  } catch (error) {
    if (error instanceof StorageError && error.code === 'NOT_FOUND') return undefined;
    throw error;
  }
}

/** Probabilities for every image (rows of `keys`, columns of `classes`). */
export async function savePredictions(
  store: Storage,
  runId: string,
  round: number,
  predictions: { keys: string[]; classes: string[]; probs: Float32Array },
): Promise<void> {
  const { probs } = predictions;
  await store.put(roundProbsKey(runId, round), new Uint8Array(probs.buffer, probs.byteOffset, probs.byteLength));
  await store.put(roundKeysKey(runId, round), JSON.stringify({ keys: predictions.keys, classes: predictions.classes }));
}

export async function readProbs(store: Storage, runId: string, round: number): Promise<Float32Array> {
  return float32Of(await store.get(roundProbsKey(runId, round)));
}

export async function readPredictions(
  store: Storage,
  runId: string,
  round: number,
): Promise<{ keys: string[]; classes: string[]; probs: Float32Array }> {
  const { keys, classes } = await readJson<{ keys: string[]; classes: string[] }>(store, roundKeysKey(runId, round));
  return { keys, classes, probs: await readProbs(store, runId, round) };
}

/** Stores the round's queue; returns its key. */
export async function saveQueue(store: Storage, runId: string, queue: RoundQueue): Promise<string> {
  const key = queueKey(runId, queue.round);
  await store.put(key, JSON.stringify(queue));
  return key;
}

/** Makes the round's queue the loop's latest one and returns it. */
export async function promoteQueue(store: Storage, runId: string, round: number): Promise<RoundQueue> {
  const queue = await store.get(queueKey(runId, round));
  await store.put(latestQueueKey(runId), queue);
  return JSON.parse(queue.toString('utf8')) as RoundQueue;
}

/** What a finished round stored, raw: its labels export and classes, its predictions and its queue. */
export interface StoredRound {
  csv: string;
  classes: string[];
  predictions: { keys: string[]; classes: string[]; probs: Float32Array };
  queue: RoundQueue;
}

export async function readStoredRound(store: Storage, runId: string, round: number): Promise<StoredRound> {
  const { csv, classes } = await readRoundLabels(store, runId, round);
  const predictions = await readPredictions(store, runId, round);
  const queue = await readJson<RoundQueue>(store, queueKey(runId, round));
  return { csv, classes, predictions, queue };
}
