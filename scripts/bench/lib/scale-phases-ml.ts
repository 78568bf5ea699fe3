// The scale benchmark's phases that run a model (see scale-phases.ts for the others):
// - embed: embedChunk's path (readExisting, decodeReadImages, average-pooled feature maps, writePart) over chunks of
//   the listing, so no full key list is held (planEmbedding's is: it is not used here).
// - refit: the run's file list read from the ingest manifest a part at a time, features a batch at a time through
//   the training session's unaugmented loader, then clusterFeaturesInChunks (bounded sample, chunked assignment).
import type { LayersModel } from '@tensorflow/tfjs';
import { listChunk } from '../../../activities/ingest.ts';
import { batchedFeatureSource, clusterFeaturesInChunks } from '../../../ml/cluster/index.ts';
import type { InputOptions } from '../../../ml/data/index.ts';
import { pooledFeatureMaps } from '../../../ml/eval/chunked-features.ts';
import { decodeReadImages } from '../../../ml/eval/stored-batch.ts';
import { loadStepBatch } from '../../../ml/methods/plan.ts';
import { Rng } from '../../../ml/rng.ts';
import { writePart } from '../../../storage/embeddings.ts';
import { manifestImageKeys } from '../../../storage/manifest.ts';
import { readExisting } from '../../../storage/read.ts';
import type { PhaseContext } from './scale-phases.ts';

export interface ModelPhaseContext extends PhaseContext {
  model: LayersModel;
  input: InputOptions;
  refit: { k: number; pcaDim: number; maxIter: number };
}

export function runModelPhase(phase: 'embed' | 'refit', ctx: ModelPhaseContext): Promise<number> {
  return phase === 'embed' ? embed(ctx) : refit(ctx);
}

const EMBED_PART_SIZE = 2048;

async function embed(ctx: ModelPhaseContext): Promise<number> {
  const hash = `scale-${ctx.runId}`;
  let cursor = '';
  let part = 0;
  let embedded = 0;
  for (;;) {
    const listed = await listChunk(ctx.source, cursor, EMBED_PART_SIZE);
    if (listed.files.length === 0) break;
    cursor = listed.files.at(-1)!.key;
    const keys = listed.files.map((f) => f.key);
    const features: Float32Array[] = [];
    const ids: string[] = [];
    let dim = 0;
    for (let start = 0; start < keys.length; start += ctx.input.batch_size) {
      const { bytes } = await readExisting(ctx.source, keys.slice(start, start + ctx.input.batch_size));
      const batch = await decodeReadImages(bytes, ctx.input);
      if (!batch) continue;
      const rows = pooledFeatureMaps(ctx.model, batch, 'avg');
      dim = rows.shape[1];
      features.push((await rows.data()) as Float32Array);
      rows.dispose();
      ids.push(...batch.keys);
    }
    const vectors = new Float32Array(ids.length * dim);
    features.reduce((at, f) => (vectors.set(f, at), at + f.length), 0);
    await writePart(ctx.store, hash, part++, vectors, { version: 1, dim, keys: ids, skipped: [], source: ctx.source.location, runId: ctx.runId });
    embedded += ids.length;
    ctx.progress(embedded);
    if (listed.done) break;
  }
  return embedded;
}

async function refit(ctx: ModelPhaseContext): Promise<number> {
  const files = await manifestImageKeys(ctx.store, ctx.runId);
  let done = 0;
  const source = batchedFeatureSource({
    size: files.size,
    batchSize: ctx.input.batch_size,
    keysAt: (rows) => files.keysAt(rows),
    rowsOf: async (keys) => {
      const batch = await loadStepBatch({ keys, read: (key) => ctx.source.get(key), input: ctx.input, augment: null, seed: 0, step: 0 });
      done += keys.length;
      if (done % 10_240 < keys.length) ctx.progress(done);
      return { ids: batch.keys, rows: pooledFeatureMaps(ctx.model, batch, 'avg') };
    },
  });
  const { k, pcaDim, maxIter } = ctx.refit;
  const result = await clusterFeaturesInChunks(source, { k, pcaDim, maxIter, nInit: 1 }, Rng.fromSeed(1));
  const unassigned = result.labels.filter((label) => label < 0).length;
  if (unassigned > 0) throw new Error(`refit: ${unassigned} of ${files.size} images were not assigned`);
  return files.size;
}
