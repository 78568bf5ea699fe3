// Embedding activities: load a frozen feature extractor, list what is not embedded yet, embed chunks (global average
// pooling of the extractor's feature map, or the map itself with featureMaps), and write a TensorBoard projector for a sample (max-pooled by default, as
// the original's projector).
import { ApplicationFailure } from '@temporalio/activity';
import { gatherRowsInChunks, pooledFeatureMaps, type SpatialPooling } from '../ml/eval/chunked-features.ts';
import { decodeReadImages } from '../ml/eval/stored-batch.ts';
import { StorageError, type Storage } from '../storage/index.ts';
import { embeddedKeys, partWriter, readEmbeddings, writePart, type MapShape, type PartKeys } from '../storage/embeddings.ts';
import { averagePoolMaps } from '../ml/active/pool-maps.ts';
import { embeddingsPrefix, modelInfoKey, partKeysKey, pendingKey, sourceKeysKey } from '../storage/layout.ts';
import { readExisting } from '../storage/read.ts';
import { listImageKeyList } from '../storage/image-keys.ts';
import { KeyList, KeyListBuilder } from '../ml/data/key-list.ts';
import type { EmbedModelInfo, EmbedPlan, ModelRef } from '../contracts/embed.ts';
import { loadExtractor, loadExtractorOf, refName, type LoadedExtractor } from './feature-extractors.ts';
import { checkMapSize, featureMapRows, featureMapShape, featureMapsHash } from './embed-maps.ts';
import { keepHeartbeating } from './heartbeat.ts';
import { keyMetadata, publishProjector, thumbnails } from './projector.ts';

export interface EmbedDependencies {
  store: Storage;
  openSource(location: string): Storage;
  /** Projectors go to the tracker (POST /api/runs/<workflowId>/projector), so workers on any machine can publish. */
  tracker: { url: string; token?: string };
  spoolDir?: string;
}

export type ProjectorPooling = SpatialPooling;

const nonRetryable = (type: string, message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

async function listImages(deps: EmbedDependencies, location: string, onKey: () => void): Promise<KeyList> {
  try {
    return await listImageKeyList(deps.openSource(location), onKey);
  } catch (error) {
    if (error instanceof StorageError && error.code !== 'UNREACHABLE' && error.code !== 'IO') {
      throw nonRetryable('BadSourceError', error.message);
    }
    throw error;
  }
}

const lines = (text: string) => (text === '' ? [] : text.split('\n'));
const readLines = async (store: Storage, key: string) => lines((await store.get(key)).toString('utf8'));

/**
 * Spatially pooled features of `keys` in order (or the feature maps themselves, flattened, when `pooling` names their
 * shape), `batchSize` images at a time. Images gone since listing are reported to `onMissing`, undecodable ones to
 * `onSkip`; both are left out.
 */
function pooledFeatures(
  extractor: LoadedExtractor,
  source: Storage,
  keys: string[],
  options: { batchSize: number; pooling: SpatialPooling | { maps: MapShape }; onMissing?(key: string): void; onSkip?(key: string, reason: string): void; onBatch?(size: number): void },
) {
  const { pooling } = options;
  return gatherRowsInChunks(keys.length, options.batchSize, async (start, end) => {
    const { bytes, missing } = await readExisting(source, keys.slice(start, end));
    for (const key of missing) options.onMissing?.(key);
    const batch = await decodeReadImages(bytes, extractor.input, options.onSkip);
    options.onBatch?.(end - start);
    if (!batch) return undefined;
    const rows = typeof pooling === 'string' ? pooledFeatureMaps(extractor.model, batch, pooling) : featureMapRows(extractor.model, batch, pooling.maps);
    return { ids: batch.keys, rows };
  });
}

/** The extractor of a running embedding, checked to be the one it started with (maps: by weights and map shape). */
async function loadEmbedder(
  store: Storage,
  ref: ModelRef,
  inputOverride: Record<string, unknown> | undefined,
  modelHash: string,
  mapShape: MapShape | undefined,
): Promise<LoadedExtractor> {
  if (!mapShape) return loadExtractorOf(store, ref, inputOverride, modelHash);
  const loaded = await loadExtractor(store, ref, inputOverride);
  const hash = featureMapsHash(loaded.hash, mapShape);
  if (hash !== modelHash)
    throw nonRetryable('ModelChangedError', `the model's weights changed since this run started (feature-map hash ${hash}, expected ${modelHash})`);
  return loaded;
}

export function createEmbedActivities(deps: EmbedDependencies) {
  return {
    /**
     * Loads and checks the extractor; returns the hash of its weights and its feature dimension (with featureMaps: a
     * hash of the weights and the map shape, and the map's size).
     */
    async describeEmbeddingModel(input: {
      model: ModelRef;
      input?: Record<string, unknown>;
      featureMaps?: boolean;
      maxMapValues?: number;
    }): Promise<EmbedModelInfo> {
      const stop = keepHeartbeating(() => ({ loading: refName(input.model) }));
      try {
        const loaded = await loadExtractor(deps.store, input.model, input.input);
        let info: EmbedModelInfo = { modelHash: loaded.hash, dim: loaded.dim };
        if (input.featureMaps) {
          const mapShape = featureMapShape(loaded);
          try {
            checkMapSize(mapShape, input.maxMapValues);
          } catch (error) {
            throw nonRetryable('BadConfigError', (error as Error).message);
          }
          info = { modelHash: featureMapsHash(loaded.hash, mapShape), dim: mapShape[0] * mapShape[1] * mapShape[2], mapShape };
        }
        if (!(await deps.store.exists(modelInfoKey(info.modelHash)))) {
          await deps.store.put(
            modelInfoKey(info.modelHash),
            JSON.stringify({ model: input.model, input: loaded.input, dim: info.dim, ...(info.mapShape ? { mapShape: info.mapShape, weightsHash: loaded.hash } : {}) }, null, 2),
          );
        }
        return info;
      } finally {
        stop();
      }
    },

    /** Lists the source and writes the keys not yet embedded for this model to runs/<runId>/embed/pending.txt. */
    async planEmbedding(input: { source: string; modelHash: string; runId: string }): Promise<EmbedPlan> {
      let listed = 0;
      const stop = keepHeartbeating(() => ({ listed }));
      try {
        const keys = await listImages(deps, input.source, () => listed++);
        const { done, parts } = await embeddedKeys(deps.store, input.modelHash);
        const pending = new KeyListBuilder();
        for (const key of keys) if (done.indexOf(key) < 0) pending.add(key);
        await deps.store.put(sourceKeysKey(input.runId), keys.text());
        await deps.store.put(pendingKey(input.runId), pending.text());
        return {
          total: keys.length,
          alreadyDone: keys.length - pending.count,
          pending: pending.count,
          firstPart: parts.length ? parts[parts.length - 1]! + 1 : 0,
        };
      } finally {
        stop();
      }
    },

    /** Embeds pending[offset, offset+limit) into one part. A retry rewrites the same part with the same keys. */
    async embedChunk(input: {
      source: string;
      model: ModelRef;
      input?: Record<string, unknown>;
      modelHash: string;
      runId: string;
      offset: number;
      limit: number;
      part: number;
      batchSize: number;
      /** Store feature maps of this shape instead of pooled vectors. */
      mapShape?: MapShape;
    }): Promise<{ embedded: number; skipped: number }> {
      let done = 0;
      const stop = keepHeartbeating(() => ({ part: input.part, done }));
      try {
        const { mapShape } = input;
        const loaded = await loadEmbedder(deps.store, input.model, input.input, input.modelHash, mapShape);
        const pending = KeyList.fromLines(await deps.store.get(pendingKey(input.runId)));
        const keys = Array.from({ length: Math.max(0, Math.min(input.limit, pending.length - input.offset)) }, (_, i) => pending.at(input.offset + i));
        const writer = await partWriter(deps.store, input.modelHash, input.part);
        if (writer !== undefined && writer !== input.runId) {
          throw nonRetryable(
            'PartConflictError',
            `${partKeysKey(input.modelHash, input.part)} was written by ${writer}; run one embedding of a model at a time`,
          );
        }
        const skipped: PartKeys['skipped'] = [];
        const rows = await pooledFeatures(loaded, deps.openSource(input.source), keys, {
          batchSize: input.batchSize,
          pooling: mapShape ? { maps: mapShape } : 'avg',
          onMissing: (key) => skipped.push({ key, reason: 'gone since listing' }),
          onSkip: (key, reason) => skipped.push({ key, reason }),
          onBatch: (size) => (done += size),
        });
        await writePart(deps.store, input.modelHash, input.part, rows.features, {
          version: 1,
          dim: mapShape ? mapShape[0] * mapShape[1] * mapShape[2] : loaded.dim,
          ...(mapShape ? { mapShape } : {}),
          keys: rows.ids,
          skipped,
          source: input.source,
          runId: input.runId,
        });
        return { embedded: rows.ids.length, skipped: skipped.length };
      } finally {
        stop();
      }
    },

    /**
     * Publishes a projector (vectors, metadata with the keys, sprite) for the first `limit` embedded images of the
     * source to the tracker run <runId>, plus a scalar and a text so TensorBoard lists the run. Returns the run's page.
     */
    async writeEmbeddingProjector(input: {
      source: string;
      modelHash: string;
      runId: string;
      limit: number;
      thumbSize: number;
      /** The extractor, to pool its feature maps with max; without it the stored (average-pooled) rows are shown. */
      model?: ModelRef;
      input?: Record<string, unknown>;
      /** 'max' (default, as the original's projector) or 'avg' (the stored embeddings). */
      pooling?: ProjectorPooling;
      batchSize?: number;
    }): Promise<{ dir: string; points: number }> {
      let phase = 'reading';
      const stop = keepHeartbeating(() => ({ phase }));
      try {
        const table = await readEmbeddings(deps.store, input.modelHash);
        const row = new Map(table.keys.map((k, i) => [k, i]));
        let keys = (await readLines(deps.store, sourceKeysKey(input.runId))).filter((k) => row.has(k)).slice(0, input.limit);
        if (keys.length === 0) return { dir: '', points: 0 };
        const pooling = input.pooling ?? 'max';
        if (pooling !== 'max' && pooling !== 'avg') throw nonRetryable('BadConfigError', `projector pooling must be max or avg, got ${JSON.stringify(pooling)}`);
        let values: Float32Array;
        if (pooling === 'max' && input.model) {
          phase = 'max-pooling';
          const loaded = await loadExtractorOf(deps.store, input.model, input.input, input.modelHash);
          const rows = await pooledFeatures(loaded, deps.openSource(input.source), keys, { batchSize: input.batchSize ?? 32, pooling: 'max' });
          ({ ids: keys, features: values } = rows);
          if (keys.length === 0) return { dir: '', points: 0 };
        } else {
          values = new Float32Array(keys.length * table.dim);
          keys.forEach((k, i) => values.set(table.data.subarray(row.get(k)! * table.dim, (row.get(k)! + 1) * table.dim), i * table.dim));
          if (table.mapShape) values = averagePoolMaps(values, table.mapShape);
        }
        phase = 'thumbnails';
        const images = await thumbnails(deps.openSource(input.source), keys, input.thumbSize);
        phase = 'writing';
        const projector = {
          name: `embeddings-${input.modelHash}`,
          values,
          shape: [keys.length, values.length / keys.length] as [number, number],
          metadata: keyMetadata(keys),
          sprite: { images, thumbSize: input.thumbSize },
        };
        const note = `embeddings of ${input.source} under \`${embeddingsPrefix(input.modelHash)}/\``;
        const where = await publishProjector(deps.tracker, deps.spoolDir, input.runId, projector, note);
        return { dir: where, points: keys.length };
      } finally {
        stop();
      }
    },
  };
}

export type EmbedActivities = ReturnType<typeof createEmbedActivities>;
