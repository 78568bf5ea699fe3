// Embedding activities: load a frozen feature extractor, list what is not embedded yet, embed chunks (global average
// pooling of the extractor's feature map), and write a TensorBoard projector for a sample (max-pooled by default, as
// the original's projector).
import { ApplicationFailure } from '@temporalio/activity';
import type { LayersModel } from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { activeTf, initBackend } from '../ml/backend.ts';
import { parseInputOptions, type InputOptions } from '../ml/data/index.ts';
import { loadStepBatch } from '../ml/methods/plan.ts';
import { assertFullyConvolutional, loadFeatureModel } from '../ml/models/load.ts';
import { StorageError, type Storage } from '../storage/index.ts';
import type { RawImage } from '../tensorboard-format/index.ts';
import type { EmbedModelInfo, EmbedPlan, ModelRef } from '../contracts/embed.ts';
import {
  embeddingsPrefix,
  modelDir,
  modelInfoKey,
  modelKey,
  partKeysKey,
  partVectorsKey,
  pendingKey,
  sourceKeysKey,
} from '../storage/layout.ts';
import { listParts, readEmbeddings, readPartKeys, type PartKeys } from './embeddings-store.ts';
import { keepHeartbeating } from './heartbeat.ts';
import { TrackerClient } from '../tracker-client/client.ts';

const IMAGE_EXTENSIONS = /\.(png|jpe?g|tiff?|webp|gif)$/i;

export interface EmbedDependencies {
  store: Storage;
  openSource(location: string): Storage;
  /** Projectors go to the tracker (POST /api/runs/<workflowId>/projector), so workers on any machine can publish. */
  tracker: { url: string; token?: string };
  spoolDir?: string;
}

interface LoadedExtractor {
  model: LayersModel;
  hash: string;
  input: InputOptions;
  dim: number;
}

const nonRetryable = (type: string, message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

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

const refName = (ref: ModelRef) => (ref.run ? `run:${ref.run}` : `path:${ref.path}`);
/** Loaded extractors per worker process, so consecutive chunks skip reloading. */
const cache = new Map<string, LoadedExtractor>();

async function loadExtractor(
  deps: EmbedDependencies,
  ref: ModelRef,
  inputOverride: Record<string, unknown> = {},
): Promise<LoadedExtractor> {
  const name = `${refName(ref)} ${JSON.stringify(inputOverride)}`;
  const cached = cache.get(name);
  if (cached) return cached;
  if (!ref.run === !ref.path)
    throw nonRetryable('BadConfigError', 'model: give exactly one of run (a pretraining run id) or path');
  await initBackend({ purpose: 'infer' });
  const tf = activeTf();
  let model: LayersModel;
  let input: InputOptions;
  try {
    if (ref.run) {
      const prefix = modelDir(ref.run);
      let json: {
        modelTopology: object;
        weightsManifest: { paths: string[]; weights: never[] }[];
        userDefinedMetadata?: { input?: object };
      };
      try {
        json = JSON.parse((await deps.store.get(modelKey(ref.run))).toString('utf8'));
      } catch (error) {
        if (error instanceof StorageError && error.code === 'NOT_FOUND') {
          throw nonRetryable(
            'BadConfigError',
            `model.run: no exported model at ${modelKey(ref.run)} (has pretraining run ${ref.run} finished?)`,
          );
        }
        throw error;
      }
      input = parseInputOptions({ ...(json.userDefinedMetadata?.input ?? {}), ...inputOverride } as never);
      const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
      const shards = await Promise.all(
        json.weightsManifest.flatMap((g) => g.paths).map((p) => deps.store.get(`${prefix}/${p}`)),
      );
      const all = Buffer.concat(shards);
      const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
      model = await tf.loadLayersModel(
        tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }),
      );
      assertFullyConvolutional(model, input.sobel ? 3 : input.num_channels, prefix);
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

async function listImages(deps: EmbedDependencies, location: string, onKey: () => void): Promise<string[]> {
  const keys: string[] = [];
  try {
    for await (const object of deps.openSource(location).list()) {
      if (IMAGE_EXTENSIONS.test(object.key)) keys.push(object.key);
      onKey();
    }
  } catch (error) {
    if (error instanceof StorageError && error.code !== 'UNREACHABLE' && error.code !== 'IO') {
      throw nonRetryable('BadSourceError', error.message);
    }
    throw error;
  }
  return keys;
}

const lines = (text: string) => (text === '' ? [] : text.split('\n'));

export function createEmbedActivities(deps: EmbedDependencies) {
  return {
    /** Loads and checks the extractor; returns the hash of its weights and its feature dimension. */
    async describeEmbeddingModel(input: {
      model: ModelRef;
      input?: Record<string, unknown>;
    }): Promise<EmbedModelInfo> {
      const stop = keepHeartbeating(() => ({ loading: refName(input.model) }));
      try {
        const loaded = await loadExtractor(deps, input.model, input.input);
        if (!(await deps.store.exists(modelInfoKey(loaded.hash)))) {
          await deps.store.put(
            modelInfoKey(loaded.hash),
            JSON.stringify({ model: input.model, input: loaded.input, dim: loaded.dim }, null, 2),
          );
        }
        return { modelHash: loaded.hash, dim: loaded.dim };
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
        const done = new Set<string>();
        const parts = await listParts(deps.store, input.modelHash);
        for (const part of parts) {
          const info = await readPartKeys(deps.store, input.modelHash, part);
          for (const key of info.keys) done.add(key);
          for (const s of info.skipped) done.add(s.key);
        }
        const pending = keys.filter((k) => !done.has(k));
        await deps.store.put(sourceKeysKey(input.runId), keys.join('\n'));
        await deps.store.put(pendingKey(input.runId), pending.join('\n'));
        return {
          total: keys.length,
          alreadyDone: keys.length - pending.length,
          pending: pending.length,
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
    }): Promise<{ embedded: number; skipped: number }> {
      let done = 0;
      const stop = keepHeartbeating(() => ({ part: input.part, done }));
      try {
        const loaded = await loadExtractor(deps, input.model, input.input);
        if (loaded.hash !== input.modelHash) {
          throw nonRetryable(
            'ModelChangedError',
            `the model's weights changed since this run started (hash ${loaded.hash}, expected ${input.modelHash})`,
          );
        }
        const keys = lines((await deps.store.get(pendingKey(input.runId))).toString('utf8')).slice(
          input.offset,
          input.offset + input.limit,
        );
        const keysKey = partKeysKey(input.modelHash, input.part);
        if (await deps.store.exists(keysKey)) {
          const existing = JSON.parse((await deps.store.get(keysKey)).toString('utf8')) as PartKeys;
          if (existing.runId !== input.runId) {
            throw nonRetryable(
              'PartConflictError',
              `${keysKey} was written by ${existing.runId}; run one embedding of a model at a time`,
            );
          }
        }
        const source = deps.openSource(input.source);
        const tf = activeTf();
        const rows: Float32Array[] = [];
        const embeddedKeys: string[] = [];
        const skipped: PartKeys['skipped'] = [];
        for (let start = 0; start < keys.length; start += input.batchSize) {
          const batchKeys = keys.slice(start, start + input.batchSize);
          const bytes = new Map<string, Uint8Array>();
          // Read here, not inside the decoder, so a storage outage fails the activity (and retries) instead of
          // marking images as undecodable for good.
          for (const key of batchKeys) {
            try {
              bytes.set(key, await source.get(key));
            } catch (error) {
              if (error instanceof StorageError && error.code === 'NOT_FOUND')
                skipped.push({ key, reason: 'gone since listing' });
              else throw error;
            }
          }
          const present = batchKeys.filter((k) => bytes.has(k));
          const batchSkips: PartKeys['skipped'] = [];
          let batch: Awaited<ReturnType<typeof loadStepBatch>> | undefined;
          if (present.length > 0) {
            try {
              batch = await loadStepBatch({
                keys: present,
                read: async (k) => bytes.get(k)!,
                input: loaded.input,
                augment: null,
                seed: 0,
                step: 0,
                onSkip: (key, reason) => batchSkips.push({ key, reason }),
              });
            } catch (error) {
              if (batchSkips.length !== present.length) throw error;
            }
          }
          skipped.push(...batchSkips);
          if (batch) {
            const pooled = tf.tidy(() =>
              tf.mean(loaded.model.predict(tf.tensor4d(batch.images, batch.shape)) as never, [1, 2]),
            );
            rows.push((await pooled.data()) as Float32Array);
            pooled.dispose();
            embeddedKeys.push(...batch.keys);
          }
          done += batchKeys.length;
        }
        const vectors = new Float32Array(embeddedKeys.length * loaded.dim);
        let at = 0;
        for (const r of rows) (vectors.set(r, at), (at += r.length));
        await deps.store.put(partVectorsKey(input.modelHash, input.part), new Uint8Array(vectors.buffer));
        const info: PartKeys = {
          version: 1,
          dim: loaded.dim,
          keys: embeddedKeys,
          skipped,
          source: input.source,
          runId: input.runId,
        };
        await deps.store.put(keysKey, JSON.stringify(info));
        return { embedded: embeddedKeys.length, skipped: skipped.length };
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
        let keys = lines((await deps.store.get(sourceKeysKey(input.runId))).toString('utf8'))
          .filter((k) => row.has(k))
          .slice(0, input.limit);
        if (keys.length === 0) return { dir: '', points: 0 };
        const pooling = input.pooling ?? 'max';
        if (pooling !== 'max' && pooling !== 'avg') throw nonRetryable('BadConfigError', `projector pooling must be max or avg, got ${JSON.stringify(pooling)}`);
        let values: Float32Array;
        if (pooling === 'max' && input.model) {
          phase = 'max-pooling';
          const loaded = await loadExtractor(deps, input.model, input.input);
          if (loaded.hash !== input.modelHash) {
            throw nonRetryable('ModelChangedError', `the model's weights changed since this run started (hash ${loaded.hash}, expected ${input.modelHash})`);
          }
          ({ keys, values } = await pooledRows(loaded, deps.openSource(input.source), keys, input.batchSize ?? 32, 'max'));
          if (keys.length === 0) return { dir: '', points: 0 };
        } else {
          values = new Float32Array(keys.length * table.dim);
          keys.forEach((k, i) =>
            values.set(
              table.data.subarray(row.get(k)! * table.dim, (row.get(k)! + 1) * table.dim),
              i * table.dim,
            ),
          );
        }
        phase = 'thumbnails';
        const source = deps.openSource(input.source);
        const s = input.thumbSize;
        const images: RawImage[] = [];
        for (const key of keys) {
          let data: Uint8Array;
          try {
            data = new Uint8Array(
              await sharp(await source.get(key))
                .removeAlpha()
                .toColourspace('srgb')
                .resize(s, s, { fit: 'fill' })
                .raw()
                .toBuffer(),
            );
            if (data.length !== s * s * 3) throw new Error('unexpected channels');
          } catch (error) {
            if (error instanceof StorageError && error.code !== 'NOT_FOUND') throw error;
            data = new Uint8Array(s * s * 3); // gone or unreadable since it was embedded: a black cell
          }
          images.push({ data, height: s, width: s, channels: 3 });
        }
        phase = 'writing';
        const folder = (k: string) => (k.includes('/') ? k.slice(0, k.lastIndexOf('/')) : '.');
        const projector = {
          name: `embeddings-${input.modelHash}`,
          values,
          shape: [keys.length, table.dim] as [number, number],
          metadata: { columns: ['key', 'folder'], rows: keys.map((k) => [k, folder(k)]) },
          sprite: { images, thumbSize: s },
        };
        const note = `embeddings of ${input.source} under \`${embeddingsPrefix(input.modelHash)}/\``;
        const where = await publishToTracker(deps.tracker, deps.spoolDir, input.runId, projector, note);
        return { dir: where, points: keys.length };
      } finally {
        stop();
      }
    },
  };
}

export type EmbedActivities = ReturnType<typeof createEmbedActivities>;

export type ProjectorPooling = 'max' | 'avg';

/** Spatially pooled features of `keys` in order, leaving out images that no longer read or decode. */
async function pooledRows(
  loaded: LoadedExtractor,
  source: Storage,
  keys: string[],
  batchSize: number,
  pooling: ProjectorPooling,
): Promise<{ keys: string[]; values: Float32Array }> {
  const tf = activeTf();
  const kept: string[] = [];
  const rows: Float32Array[] = [];
  for (let start = 0; start < keys.length; start += batchSize) {
    const bytes = new Map<string, Uint8Array>();
    for (const key of keys.slice(start, start + batchSize)) {
      try {
        bytes.set(key, await source.get(key));
      } catch (error) {
        if (!(error instanceof StorageError && error.code === 'NOT_FOUND')) throw error; // an outage retries the activity
      }
    }
    if (bytes.size === 0) continue;
    let batch: Awaited<ReturnType<typeof loadStepBatch>>;
    try {
      batch = await loadStepBatch({ keys: [...bytes.keys()], read: async (k) => bytes.get(k)!, input: loaded.input, augment: null, seed: 0, step: 0 });
    } catch {
      continue; // none of them decodes any more: those points are left out
    }
    const pooled = tf.tidy(() => {
      const maps = loaded.model.predict(tf.tensor4d(batch.images, batch.shape)) as never;
      return pooling === 'max' ? tf.max(maps, [1, 2]) : tf.mean(maps, [1, 2]);
    });
    rows.push((await pooled.data()) as Float32Array);
    pooled.dispose();
    kept.push(...batch.keys);
  }
  const values = new Float32Array(kept.length * loaded.dim);
  let at = 0;
  for (const r of rows) (values.set(r, at), (at += r.length));
  return { keys: kept, values };
}

/** Sends the projector and its run's two summaries through the tracker; returns the tracker run's page. */
async function publishToTracker(
  tracker: { url: string; token?: string },
  spoolDir: string | undefined,
  runId: string,
  projector: { name: string; values: Float32Array; shape: [number, number]; metadata: { columns: string[]; rows: string[][] }; sprite: { images: RawImage[]; thumbSize: number } },
  note: string,
): Promise<string> {
  if (!tracker.token)
    throw nonRetryable('BadConfigError', `the tracker at ${tracker.url} needs PATCHWORK_TOKEN on this worker`);
  const { client } = await TrackerClient.start({
    url: tracker.url,
    token: tracker.token,
    run: runId,
    workflowId: runId,
    skipLogged: true,
    spoolDir,
    startTimeoutMs: 60_000,
  });
  try {
    const v = projector.values;
    await client.projector({
      name: projector.name,
      shape: projector.shape,
      values: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'),
      metadata: projector.metadata,
      sprite: {
        thumbSize: projector.sprite.thumbSize,
        rgb: Buffer.concat(projector.sprite.images.map((im) => Uint8Array.from(im.data as ArrayLike<number>))).toString('base64'),
      },
    });
    client.scalar('embed/projector_points', 0, projector.shape[0]);
    client.text('embed/model', 0, note);
  } finally {
    await client.close({ timeoutMs: 60_000 });
  }
  return `${tracker.url.replace(/\/+$/, '')}/runs/${encodeURIComponent(runId)}`;
}
