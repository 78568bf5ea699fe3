// One pretraining run as seen by a worker process: its spec and file list, a trainer restored from the latest
// checkpoint, and a tracker client. Sessions are cached per process so consecutive activities of a run on the
// same worker skip rebuilding the model; a session is reused only while its step equals the checkpoint on record.
//
// Everything is logged through the tracker (never to local files), so a worker on another machine needs only the
// tracker's URL and token. A session continues the tracker run with skipLogged: steps a killed worker logged after
// its last checkpoint are re-sent by the next worker and skipped by the tracker (training is deterministic from a
// checkpoint, so they are the same values). Logs are flushed before each checkpoint, so nothing older than the
// checkpoint a retry resumes from is lost with a killed worker's memory.
import type { Tensor2D } from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { activeTf, initBackend } from '../ml/backend.ts';
import { installNativeKernels } from '../ml/kernels/native/index.ts';
import { loadLatestCheckpoint, restoreOptimizer, saveCheckpoint } from '../ml/checkpoint.ts';
import type { AugmentParams, InputOptions } from '../ml/data/index.ts';
import { DeepClusterTrainer, IicTrainer, createTrainer, registerChannelWiseDense } from '../ml/methods/index.ts';
import { linearProbe, pooledFeatures, splitLabels } from '../ml/eval/linear-probe.ts';
import { STREAM, derivedSeed, epochOrder, loadStepBatch, stepIndices } from '../ml/methods/plan.ts';
import type { Trainer } from '../ml/methods/types.ts';
import { evaluateTestSet } from '../ml/methods/test-set.ts';
import { assignFeatures, type ClusterFeaturesResult } from '../ml/cluster/index.ts';
import { Rng, type RngState } from '../ml/rng.ts';
import { encodePng } from '../tensorboard-format/index.ts';
import { TrackerClient } from '../tracker-client/client.ts';
import type { Storage } from '../storage/index.ts';
import type { PretrainMethod, PretrainPlan } from '../contracts/pretrain.ts';
import { checkpointPrefix, filesKey, modelKey, modelWeightsKey, MODEL_WEIGHTS_FILE, pseudoLabelsKey, specKey, testFilesKey } from '../storage/layout.ts';

export interface RunSpec {
  version: 1;
  runId: string;
  method: PretrainMethod;
  images: string;
  input: InputOptions;
  augment: AugmentParams | null;
  methodConfig: Record<string, unknown>;
  seed: number;
  epochs: number;
  /** file key -> class name, for downstream monitoring. */
  labels?: Record<string, string>;
  /** Folder or s3:// location of the test images (their keys are in test-files.txt). */
  testImages?: string;
  plan: PretrainPlan;
}


export interface TrackerSettings {
  url: string;
  token?: string;
}

interface Deps {
  store: Storage;
  openSource(location: string): Storage;
  tracker: TrackerSettings;
  /** Where the tracker client spools while the tracker is unreachable (default: the OS temp folder). */
  spoolDir?: string;
}

/** How long an activity waits for the tracker to acknowledge its logs before it carries on (they stay queued). */
const LOG_FLUSH_TIMEOUT_MS = 120_000;

const sessions = new Map<string, RunSession>();

export async function openRunSession(deps: Deps, runId: string): Promise<RunSession> {
  const latest = await latestCheckpointStep(deps.store, runId);
  const cached = sessions.get(runId);
  if (cached && cached.step === latest) return cached;
  if (cached) await closeRunSession(runId);
  const session = await RunSession.open(deps, runId);
  sessions.set(runId, session);
  return session;
}

export async function closeRunSession(runId: string): Promise<void> {
  const session = sessions.get(runId);
  sessions.delete(runId);
  await session?.close();
}

async function latestCheckpointStep(store: Storage, runId: string): Promise<number> {
  const key = `${checkpointPrefix(runId)}/LATEST`;
  if (!(await store.exists(key))) return 0;
  return (JSON.parse((await store.get(key)).toString('utf8')) as { step: number }).step;
}

export class RunSession {
  private tracker?: TrackerClient;
  /** The step the trainer's weights belong to: the next step to train. */
  step = 0;

  private constructor(
    private readonly deps: Deps,
    readonly spec: RunSpec,
    readonly files: string[],
    readonly trainer: Trainer,
    private readonly source: Storage,
  ) {}

  static async open(deps: Deps, runId: string): Promise<RunSession> {
    const spec = JSON.parse((await deps.store.get(specKey(runId))).toString('utf8')) as RunSpec;
    const files = (await deps.store.get(filesKey(runId))).toString('utf8').split('\n');
    await initBackend({ purpose: 'train' });
    installNativeKernels();
    const [height, width] = spec.input.imshape;
    const channels = spec.input.sobel ? 3 : spec.input.num_channels;
    const trainer = createTrainer(spec.method, {
      config: spec.methodConfig,
      inputShape: [height, width, channels],
      rng: Rng.fromSeed(derivedSeed(spec.seed, STREAM.trainer, 0)),
      seed: spec.seed,
      augment: spec.augment ?? undefined,
      // Plans without imagesPerStep were made when IIC trained on every image of a batch r times.
      pairsPerStep: spec.plan.imagesPerStep === undefined ? undefined : spec.input.batch_size,
    });
    if (trainer instanceof DeepClusterTrainer) trainer.setFileList(files);
    const session = new RunSession(deps, spec, files, trainer, deps.openSource(spec.images));
    registerChannelWiseDense();
    const checkpoint = await loadLatestCheckpoint(deps.store, checkpointPrefix(runId));
    if (checkpoint) {
      const parts = trainer.parts();
      for (const [name, model] of Object.entries(parts.models)) {
        const saved = checkpoint.models[name];
        model.setWeights(saved.getWeights());
        saved.dispose();
      }
      for (const [name, optimizer] of Object.entries(parts.optimizers)) {
        if (checkpoint.optimizers[name]) await restoreOptimizer(optimizer, checkpoint.optimizers[name]);
      }
      if (checkpoint.rng) trainer.rng = Rng.fromState(checkpoint.rng as RngState);
      trainer.loadMethodState((checkpoint.state ?? {}) as Record<string, unknown>);
      session.step = checkpoint.step;
    } else {
      // Every worker must start from the same random weights: record them before anything depends on them.
      await session.checkpoint(0);
    }
    return session;
  }

  private read = async (key: string) => this.source.get(key);

  /** The run's tracker client, started on first use; fails clearly when no tracker is configured or reachable. */
  private async log(): Promise<TrackerClient> {
    if (this.tracker) return this.tracker;
    const { url, token } = this.deps.tracker;
    const runId = this.spec.runId;
    if (!url || !token) {
      throw new Error(
        `pretraining run ${runId} logs through the tracker, but this worker has no tracker ${url ? 'token' : 'URL'}; ` +
          'start the services with `patchwork up`, or set PATCHWORK_TRACKER_URL and PATCHWORK_TOKEN for the worker',
      );
    }
    try {
      const { client } = await TrackerClient.start({
        url,
        token,
        run: runId,
        workflowId: runId,
        skipLogged: true,
        hparams: this.hparams(),
        spoolDir: this.deps.spoolDir,
        startTimeoutMs: 60_000,
      });
      this.tracker = client;
      return client;
    } catch (error) {
      throw new Error(`pretraining run ${runId}: cannot start logging to the tracker: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Waits (bounded) until the tracker has everything logged so far. Past the bound training goes on and the logs are
   * put in the client's on-disk spool, so a worker killed during a tracker outage loses none of them: its successor on
   * this machine sends them when the tracker is back.
   */
  private async flushLogs(): Promise<void> {
    const client = this.tracker;
    if (!client) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), LOG_FLUSH_TIMEOUT_MS)));
    try {
      const outcome = await Promise.race([client.flush().then(() => 'flushed' as const), timeout]);
      if (outcome === 'timeout') {
        client.persist();
        console.warn(`pretraining run ${this.spec.runId}: the tracker did not acknowledge logs within ${LOG_FLUSH_TIMEOUT_MS} ms; training goes on, logs are spooled to disk until it answers`);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private async logImage(client: TrackerClient, tag: string, step: number, image: { data: Uint8Array; height: number; width: number }) {
    client.image(tag, step, await encodePng({ ...image, channels: 3 }, tag));
  }

  async train(
    input: { fromStep: number; toStep: number; checkpointEvery: number; learningRate?: number },
    control: { signal: AbortSignal; onProgress(progress: { step: number; checkpointStep: number }): void },
  ): Promise<{ step: number; metrics: Record<string, number> }> {
    const { plan, input: inputOptions } = this.spec;
    if (input.learningRate !== undefined) this.trainer.setBaseLearningRate(input.learningRate);
    const epoch = Math.floor(this.step / plan.stepsPerEpoch);
    const order = await this.epochOrder(epoch);
    const log = await this.log();
    const totals: Record<string, number> = {};
    let count = 0;
    const batchAt = (step: number) =>
      loadStepBatch({
        keys: stepIndices(order, step - epoch * plan.stepsPerEpoch, this.imagesPerStep).map((i) => this.files[i]),
        read: this.read,
        input: inputOptions,
        augment: this.spec.augment,
        seed: this.spec.seed,
        step,
      });
    let next = this.step < input.toStep ? batchAt(this.step) : undefined;
    let checkpointStep = this.step;
    control.onProgress({ step: this.step, checkpointStep });
    while (this.step < input.toStep) {
      if (control.signal.aborted) throw control.signal.reason ?? new Error('cancelled');
      const batch = await next!;
      const step = this.step;
      next = step + 1 < input.toStep ? batchAt(step + 1) : undefined;
      const metrics = await this.trainer.trainStep(batch, step);
      for (const [tag, value] of Object.entries(metrics)) {
        log.scalar(`train/${tag}`, step, value);
        totals[tag] = (totals[tag] ?? 0) + value;
      }
      if (this.trainer instanceof IicTrainer) {
        for (const [head, sizes] of Object.entries(this.trainer.lastClusterSizes)) log.histogram(`iic/${head}_cluster_sizes`, step, sizes);
      }
      count++;
      this.step = step + 1;
      if (this.step % input.checkpointEvery === 0 || this.step === input.toStep) {
        // Logs first: a retry resumes from this checkpoint and re-sends only the steps after it.
        await this.flushLogs();
        await this.checkpoint(epoch);
        checkpointStep = this.step;
      }
      control.onProgress({ step: this.step, checkpointStep });
    }
    const metrics = Object.fromEntries(Object.entries(totals).map(([tag, sum]) => [tag, sum / Math.max(count, 1)]));
    return { step: this.step, metrics };
  }

  private async epochOrder(epoch: number): Promise<Int32Array> {
    const { plan } = this.spec;
    let sample: number[] | undefined;
    if (this.trainer instanceof DeepClusterTrainer) {
      const refitEpoch = epoch - (epoch % plan.refitEvery);
      const saved = JSON.parse((await this.deps.store.get(pseudoLabelsKey(this.spec.runId, refitEpoch))).toString('utf8')) as { labels: number[] };
      this.trainer.state.labels = saved.labels;
      this.trainer.resetHeadIfNeeded(refitEpoch);
      sample = this.trainer.epochSample(Rng.fromSeed(derivedSeed(this.spec.seed, STREAM.epochOrder, epoch)));
    }
    return epochOrder({ files: this.files.length, stepsPerEpoch: plan.stepsPerEpoch, batchSize: this.imagesPerStep, seed: this.spec.seed, epoch, sample });
  }

  private get imagesPerStep(): number {
    return this.spec.plan.imagesPerStep ?? this.spec.input.batch_size;
  }

  async checkpoint(epoch: number): Promise<void> {
    const parts = this.trainer.parts();
    await saveCheckpoint(this.deps.store, checkpointPrefix(this.spec.runId), {
      step: this.step,
      epoch,
      models: parts.models,
      optimizers: parts.optimizers,
      rng: this.trainer.rng.state(),
      state: this.trainer.methodState() as never,
    });
  }

  /** Features of every file, in file-list order, without augmentation. */
  private async allFeatures(embed: (batch: Awaited<ReturnType<typeof loadStepBatch>>) => Tensor2D): Promise<{ features: Tensor2D; kept: number[] }> {
    const { input } = this.spec;
    const tf = activeTf();
    const rows: Float32Array[] = [];
    const kept: number[] = [];
    let dim = 0;
    for (let start = 0; start < this.files.length; start += input.batch_size) {
      const keys = this.files.slice(start, start + input.batch_size);
      const batch = await loadStepBatch({ keys, read: this.read, input, augment: null, seed: this.spec.seed, step: 0 });
      const features = embed(batch);
      dim = features.shape[1];
      rows.push((await features.data()) as Float32Array);
      features.dispose();
      const index = new Map(keys.map((k, i) => [k, start + i]));
      for (const key of batch.keys) kept.push(index.get(key)!);
    }
    const all = new Float32Array(kept.length * dim);
    let at = 0;
    for (const r of rows) {
      all.set(r, at);
      at += r.length;
    }
    return { features: tf.tensor2d(all, [kept.length, dim]), kept };
  }

  async refit(epoch: number, step: number): Promise<Record<string, number>> {
    const trainer = this.trainer;
    if (!(trainer instanceof DeepClusterTrainer)) throw new Error('refit is a DeepCluster step');
    const { features, kept } = await this.allFeatures((batch) => trainer.embedBatch(batch));
    const previousKey = pseudoLabelsKey(this.spec.runId, epoch - this.spec.plan.refitEvery);
    trainer.state.labels =
      epoch > 0 && (await this.deps.store.exists(previousKey))
        ? (JSON.parse((await this.deps.store.get(previousKey)).toString('utf8')) as { labels: number[] }).labels
        : [];
    const result = trainer.refit(features, Rng.fromSeed(derivedSeed(this.spec.seed, STREAM.refit, epoch)));
    features.dispose();
    const testLabels = await this.assignTestImages(trainer, result.state);
    // Images that failed to decode keep label 0 but never get sampled if they keep failing; map back to file order.
    const labels = new Array<number>(this.files.length).fill(0);
    kept.forEach((fileIndex, row) => (labels[fileIndex] = result.labels[row]));
    trainer.state.labels = labels;
    await this.deps.store.put(
      pseudoLabelsKey(this.spec.runId, epoch),
      JSON.stringify({ labels, nmi: result.nmi, sizes: result.sizes, ...(testLabels ? { testLabels } : {}) }),
    );
    const log = await this.log();
    if (Number.isFinite(result.nmi)) log.scalar('deepcluster/nmi_with_previous', step, result.nmi);
    log.scalar('deepcluster/kmeans_inertia', step, result.inertia);
    log.histogram('deepcluster/cluster_sizes', step, result.sizes);
    await this.flushLogs();
    const metrics: Record<string, number> = { kmeans_inertia: result.inertia, empty_clusters: result.sizes.filter((n) => n === 0).length };
    if (Number.isFinite(result.nmi)) metrics.nmi = result.nmi;
    return metrics;
  }

  /**
   * Downstream monitoring (reference section 7): a linear probe on globally average-pooled features of the labelled
   * images, deterministic 2:1 split; logs accuracy, the confusion matrix and, once per event file, the hparams.
   */
  async evaluate(_epoch: number, step: number): Promise<Record<string, number>> {
    const labels = this.spec.labels;
    if (!labels) throw new Error('evaluateDownstream: this run has no labels');
    const { train, test } = splitLabels(labels);
    const fcn = this.trainer.featureExtractor();
    const featuresOf = async (pairs: Array<[string, string | number]>) => {
      const byKey = new Map(pairs);
      const chunks: Float32Array[] = [];
      const kept: (string | number)[] = [];
      let dim = 0;
      for (let start = 0; start < pairs.length; start += this.spec.input.batch_size) {
        const keys = pairs.slice(start, start + this.spec.input.batch_size).map(([key]) => key);
        const batch = await loadStepBatch({ keys, read: this.read, input: this.spec.input, augment: null, seed: this.spec.seed, step: 0 });
        const pooled = await pooledFeatures(fcn, batch.images, batch.shape);
        dim = pooled.dim;
        chunks.push(pooled.features);
        for (const key of batch.keys) kept.push(byKey.get(key)!);
      }
      const features = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) (features.set(c, at), (at += c.length));
      return { set: { features, labels: kept }, dim };
    };
    const trainSet = await featuresOf(train);
    const testSet = await featuresOf(test);
    const result = await linearProbe(trainSet.set, testSet.set, trainSet.dim);
    const log = await this.log();
    log.scalar('downstream/linear_classification_accuracy', step, result.accuracy);
    const [height, width] = result.image.shape;
    await this.logImage(log, 'downstream/linear_classification_confusion_matrix', step, { data: result.image.data, height, width });
    await this.flushLogs();
    return { linear_classification_accuracy: result.accuracy };
  }

  /** The run's test images (the fixed list preparePretrain chose), decoded without augmentation. */
  private async testBatch() {
    if (!this.spec.testImages) throw new Error(`pretraining run ${this.spec.runId} has no test images`);
    const keys = (await this.deps.store.get(testFilesKey(this.spec.runId))).toString('utf8').split('\n');
    const source = this.deps.openSource(this.spec.testImages);
    return loadStepBatch({ keys, read: (key) => source.get(key), input: this.spec.input, augment: null, seed: this.spec.seed, step: 0 });
  }

  /** DeepCluster: the test images' clusters under a refit's fitted state, by test-batch order. */
  private async assignTestImages(trainer: DeepClusterTrainer, state: ClusterFeaturesResult['state']): Promise<number[] | undefined> {
    if (!this.spec.testImages) return undefined;
    const test = await this.testBatch();
    const features = trainer.embedBatch(test);
    try {
      return Array.from(assignFeatures(features, state));
    } finally {
      features.dispose();
    }
  }

  /** Out-of-sample losses on the test images at the end of an epoch; for Context Encoders also the inpaintings. */
  async evaluateTest(epoch: number, step: number): Promise<Record<string, number>> {
    const test = await this.testBatch();
    let pseudoLabels: number[] | undefined;
    let previousPseudoLabels: number[] | undefined;
    if (this.trainer instanceof DeepClusterTrainer) {
      const every = this.spec.plan.refitEvery;
      const refitEpoch = epoch - (epoch % every);
      const testLabelsOf = async (at: number) =>
        (JSON.parse((await this.deps.store.get(pseudoLabelsKey(this.spec.runId, at))).toString('utf8')) as { testLabels?: number[] }).testLabels;
      pseudoLabels = await testLabelsOf(refitEpoch);
      const previousKey = pseudoLabelsKey(this.spec.runId, refitEpoch - every);
      if (refitEpoch > 0 && (await this.deps.store.exists(previousKey))) previousPseudoLabels = await testLabelsOf(refitEpoch - every);
    }
    const result = await evaluateTestSet(this.trainer, test, {
      chunk: this.spec.input.batch_size,
      seed: derivedSeed(this.spec.seed, STREAM.augment, 0x7e57),
      pseudoLabels,
      previousPseudoLabels,
    });
    const log = await this.log();
    const tag = (name: string) => `test/${name.replace(/^test_/, '')}`;
    for (const [name, value] of Object.entries(result.scalars)) log.scalar(tag(name), step, value);
    for (const [name, values] of Object.entries(result.histograms)) log.histogram(tag(name), step, values);
    for (const [name, image] of Object.entries(result.images)) await this.logImage(log, tag(name), step, image);
    await this.flushLogs();
    return Object.fromEntries(Object.entries(result.scalars).map(([name, value]) => [`test_${name.replace(/^test_/, '')}`, value]));
  }

  /** The run's settings that matter for comparing runs in TensorBoard's HParams dashboard. */
  private hparams(): Record<string, string | number | boolean> {
    const values: Record<string, string | number | boolean> = {
      method: this.spec.method,
      batch_size: this.spec.input.batch_size,
      sobel: this.spec.input.sobel,
      augment: this.spec.augment !== null,
    };
    for (const [key, value] of Object.entries(this.spec.methodConfig)) {
      if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') values[key] = value;
    }
    return values;
  }

  async exportModel(stopped: boolean): Promise<string> {
    const tf = activeTf();
    const key = modelKey(this.spec.runId);
    let artifacts: import('@tensorflow/tfjs').io.ModelArtifacts | undefined;
    await this.trainer.featureExtractor().save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const data = artifacts!.weightData!;
    const weights = Buffer.concat((Array.isArray(data) ? data : [data]).map((b) => Buffer.from(b)));
    await this.deps.store.put(modelWeightsKey(this.spec.runId), weights);
    const modelJson = Buffer.from(
      JSON.stringify({
        modelTopology: artifacts!.modelTopology,
        format: 'layers-model',
        generatedBy: 'patchwork',
        weightsManifest: [{ paths: [MODEL_WEIGHTS_FILE], weights: artifacts!.weightSpecs }],
        userDefinedMetadata: { method: this.spec.method, step: this.step, stopped, input: this.spec.input },
      }),
    );
    await this.deps.store.put(key, modelJson);
    const sha256 = createHash('sha256').update(modelJson).update(weights).digest('hex');
    const log = await this.log();
    await log.registerModel({ key, sha256, bytes: modelJson.length + weights.length, step: this.step });
    await log.close({ status: 'completed', step: this.step, timeoutMs: LOG_FLUSH_TIMEOUT_MS });
    this.tracker = undefined;
    return key;
  }

  /** Hands unsent logs to the spool (a later session of the run sends them) and frees the trainer. */
  async close(): Promise<void> {
    const client = this.tracker;
    this.tracker = undefined;
    await client?.close({ timeoutMs: 10_000 }).catch((error: Error) => console.warn(`pretraining run ${this.spec.runId}: ${error.message}`));
    this.trainer.dispose();
  }
}
