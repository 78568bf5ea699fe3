// One pretraining run as seen by a worker process: its spec and file list, a trainer restored from the latest
// checkpoint, the open stream of training batches, and the run's log on the tracker. session-cache.ts keeps sessions
// between activities so consecutive activities of a run on the same worker skip rebuilding the model.
//
// Checkpoints are snapshots taken at the step boundary and stored while the next steps train (CheckpointWriter).
// LATEST moves to a checkpoint only after the logs of every step before it are acknowledged by the tracker, so a
// retry, which resumes from LATEST and re-sends only later steps, loses no log with a killed worker's memory.
import { initBackend } from '../ml/backend.ts';
import { installNativeKernels } from '../ml/kernels/native/index.ts';
import type { Batch, KeyList } from '../ml/data/index.ts';
import { DeepClusterTrainer, IicTrainer, createTrainer, registerChannelWiseDense } from '../ml/methods/index.ts';
import { gatherRowsInChunks, type BatchRows } from '../ml/eval/chunked-features.ts';
import { linearProbe, pooledFeatures, splitLabels } from '../ml/eval/linear-probe.ts';
import { multiLabelProbe } from '../ml/eval/multilabel-probe.ts';
import { exportLayersModel, loadLayersModelFrom, parseLayersModelJson } from '../ml/model-artifacts.ts';
import { STREAM, derivedSeed, epochOrder, loadStepBatch, stepIndices } from '../ml/methods/plan.ts';
import { restoreTrainer, snapshotTrainer } from '../ml/methods/trainer-checkpoint.ts';
import type { Trainer } from '../ml/methods/types.ts';
import { evaluateTestSet } from '../ml/methods/test-set.ts';
import { assignFeatures, batchedFeatureSource, type ClusterFeaturesResult } from '../ml/cluster/index.ts';
import { Rng } from '../ml/rng.ts';
import { poolReader, type Storage } from '../storage/index.ts';
import { checkpointPrefix, methodModelKey, methodModelWeightsKey, modelKey, modelWeightsKey } from '../storage/layout.ts';
import {
  readFileList,
  readPseudoLabels,
  readPseudoLabelsIfAny,
  readRunSpec,
  runHparams,
  readTestFileList,
  savePseudoLabels,
  type RunSpec,
} from '../storage/pretrain-run.ts';
import { RunLog, type TrackerSettings } from './run-log.ts';
import { CheckpointWriter } from './checkpoint-writer.ts';
import { EpochBatches } from './epoch-batches.ts';

export interface SessionDeps {
  store: Storage;
  openSource(location: string): Storage;
  tracker: TrackerSettings;
  /** Where the tracker client spools while the tracker is unreachable (default: the OS temp folder). */
  spoolDir?: string;
}

export class TrainingSession {
  private readonly log: RunLog;
  private readonly checkpoints: CheckpointWriter;
  private readonly batches = new EpochBatches();
  /** The step the trainer's weights belong to: the next step to train. */
  step = 0;
  /** Seconds open() took, logged once as perf/session_open_seconds. */
  private openSeconds: number | undefined;

  private constructor(
    private readonly deps: SessionDeps,
    readonly spec: RunSpec,
    readonly files: KeyList,
    readonly trainer: Trainer,
    private readonly source: Storage,
  ) {
    this.log = new RunLog(spec.runId, deps.tracker, () => runHparams(spec), deps.spoolDir);
    // Logged at the last step the checkpoint holds, as perf/checkpoint_seconds; the initial weights' has no such step.
    this.checkpoints = new CheckpointWriter(deps.store, checkpointPrefix(spec.runId), 0, (step, seconds) => {
      if (step > 0) this.log.scalarIfOpen('perf/checkpoint_write_seconds', step - 1, seconds);
    });
  }

  static async open(deps: SessionDeps, runId: string): Promise<TrainingSession> {
    const started = performance.now();
    const spec = await readRunSpec(deps.store, runId);
    const files = await readFileList(deps.store, runId);
    await initBackend({ purpose: 'train' });
    installNativeKernels();
    const [height, width] = spec.input.imshape;
    const channels = spec.input.sobel ? 3 : spec.input.num_channels;
    const fcn = spec.initialModel
      ? await loadLayersModelFrom(deps.store, spec.initialModel, parseLayersModelJson(await deps.store.get(spec.initialModel)))
      : undefined;
    const trainer = createTrainer(spec.method, {
      config: spec.methodConfig,
      inputShape: [height, width, channels],
      fcn,
      rng: Rng.fromSeed(derivedSeed(spec.seed, STREAM.trainer, 0)),
      seed: spec.seed,
      augment: spec.augment ?? undefined,
      // Plans without imagesPerStep were made when IIC trained on every image of a batch r times.
      pairsPerStep: spec.plan.imagesPerStep === undefined ? undefined : spec.input.batch_size,
    });
    if (trainer instanceof DeepClusterTrainer) trainer.setFileList(files);
    const session = new TrainingSession(deps, spec, files, trainer, deps.openSource(spec.images));
    // The tracker registers the run while the model is restored; train() and refit() wait for it (and get its errors).
    void session.log.open().catch(() => {});
    registerChannelWiseDense();
    const step = await restoreTrainer(deps.store, checkpointPrefix(runId), trainer);
    if (step !== undefined) session.step = session.checkpoints.durableStep = step;
    // Every worker must start from the same random weights: record them before anything depends on them (every
    // activity waits for durable() before it returns).
    else await session.checkpoint(0);
    session.openSeconds = (performance.now() - started) / 1000;
    return session;
  }

  /** Resolves once every checkpoint taken so far is in the store; rejects if one could not be stored. */
  durable(): Promise<void> {
    return this.checkpoints.durable();
  }

  private read = async (key: string) => this.source.get(key);
  /** Local and S3 sources are read by the decode pool's threads themselves, off the training loop's event loop. */
  private get filePath() {
    return poolReader(this.source);
  }

  /** Images of the run's source by key, decoded without augmentation. */
  private unaugmented(keys: string[]): Promise<Batch> {
    return loadStepBatch({ keys, read: this.read, filePath: this.filePath, input: this.spec.input, augment: null, seed: this.spec.seed, step: 0 });
  }

  async train(
    input: { fromStep: number; toStep: number; checkpointEvery?: number; maxSeconds?: number; learningRate?: number },
    control: { signal: AbortSignal; onProgress(progress: { step: number; checkpointStep: number }): void },
  ): Promise<{ step: number; metrics: Record<string, number> }> {
    const { plan, input: inputOptions } = this.spec;
    if (input.learningRate !== undefined) this.trainer.setBaseLearningRate(input.learningRate);
    const epoch = Math.floor(this.step / plan.stepsPerEpoch);
    const order = await this.epochOrder(epoch);
    const log = await this.log.open();
    if (this.openSeconds !== undefined) log.scalar('perf/session_open_seconds', this.step, this.openSeconds);
    this.openSeconds = undefined;
    const totals: Record<string, number> = {};
    let count = 0;
    // Later steps decode on the pool while this one trains, up to the epoch's end: the next chunk continues there.
    const fromStep = this.step;
    await this.batches.startChunk(epoch, fromStep, () => ({
      keysAt: (step) => stepIndices(order, step - epoch * plan.stepsPerEpoch, this.imagesPerStep).map((i) => this.files.at(i)),
      read: this.read,
      filePath: this.filePath,
      input: inputOptions,
      augment: this.spec.augment,
      seed: this.spec.seed,
      fromStep,
      toStep: Math.max(input.toStep, (epoch + 1) * plan.stepsPerEpoch),
    }));
    const progress = () => control.onProgress({ step: this.step, checkpointStep: this.checkpoints.durableStep });
    progress();
    const deadline = input.maxSeconds === undefined ? Infinity : performance.now() + input.maxSeconds * 1000;
    // A retry whose previous attempt stored the chunk's last checkpoint but did not report finds nothing left to do.
    let last = this.step >= input.toStep;
    const loopStarted = performance.now();
    let checkpointMs = 0;
    try {
      while (!last) {
        if (control.signal.aborted) throw control.signal.reason ?? new Error('cancelled');
        const batch = await this.batches.next();
        const step = this.step;
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
        last = this.step >= input.toStep || performance.now() >= deadline;
        if (last) {
          const perf = this.batches.chunkStats();
          log.scalar('perf/input_wait_fraction', step, perf.inputWaitFraction);
          log.scalar('perf/images_per_second', step, perf.imagesPerSecond);
          log.scalar('perf/steps_per_second', step, (1000 * count) / Math.max(1, performance.now() - loopStarted - checkpointMs));
        }
        if (last || (input.checkpointEvery !== undefined && this.step % input.checkpointEvery === 0)) {
          const started = performance.now();
          await this.checkpoint(epoch);
          // What training waited for: the snapshot, and an earlier checkpoint still being stored.
          const waited = performance.now() - started;
          checkpointMs += waited;
          log.scalar('perf/checkpoint_seconds', step, waited / 1000);
        }
        progress();
      }
      await this.batches.endChunk();
    } catch (error) {
      await this.batches.close();
      throw error;
    }
    await this.checkpoints.durable();
    progress();
    const metrics = Object.fromEntries(Object.entries(totals).map(([tag, sum]) => [tag, sum / Math.max(count, 1)]));
    return { step: this.step, metrics };
  }

  private async epochOrder(epoch: number): Promise<Int32Array> {
    const { plan } = this.spec;
    let sample: number[] | undefined;
    if (this.trainer instanceof DeepClusterTrainer) {
      const refitEpoch = epoch - (epoch % plan.refitEvery);
      this.trainer.state.labels = (await readPseudoLabels(this.deps.store, this.spec.runId, refitEpoch)).labels;
      this.trainer.resetHeadIfNeeded(refitEpoch);
      sample = this.trainer.epochSample(Rng.fromSeed(derivedSeed(this.spec.seed, STREAM.epochOrder, epoch)));
    }
    return epochOrder({ files: this.files.length, stepsPerEpoch: plan.stepsPerEpoch, batchSize: this.imagesPerStep, seed: this.spec.seed, epoch, sample });
  }

  private get imagesPerStep(): number {
    return this.spec.plan.imagesPerStep ?? this.spec.input.batch_size;
  }

  /** Snapshots the trainer now and stores it in the background; LATEST moves once the logs so far are acknowledged. */
  private async checkpoint(epoch: number): Promise<void> {
    const logged = this.log.flush();
    logged.catch(() => {}); // awaited by the write, before LATEST; this only keeps an early failure from going unhandled
    const snapshot = await snapshotTrainer(this.trainer, { step: this.step, epoch });
    await this.checkpoints.start(snapshot, () => logged);
  }

  /** Feature rows of `keys`, a batch of the run's batch size at a time, with the keys of the rows that decoded. */
  private featuresOf(keys: string[], rowsOf: (batch: Batch) => Promise<BatchRows> | BatchRows) {
    return gatherRowsInChunks(keys.length, this.spec.input.batch_size, async (start, end) => {
      const batch = await this.unaugmented(keys.slice(start, end));
      return { ids: batch.keys, rows: await rowsOf(batch) };
    });
  }

  /** `onIteration` is called after each k-means iteration, which blocks the event loop: heartbeat from there. */
  async refit(epoch: number, step: number, onIteration?: () => void): Promise<Record<string, number>> {
    const trainer = this.trainer;
    if (!(trainer instanceof DeepClusterTrainer)) throw new Error('refit is a DeepCluster step');
    const previous = epoch > 0 ? await readPseudoLabelsIfAny(this.deps.store, this.spec.runId, epoch - this.spec.plan.refitEvery) : undefined;
    trainer.state.labels = previous?.labels ?? [];
    const files = this.files;
    const source = batchedFeatureSource({
      size: files.length,
      batchSize: this.spec.input.batch_size,
      keysAt: (rows) => Array.from(rows, (row) => files.at(row)),
      rowsOf: async (keys) => {
        const batch = await this.unaugmented(keys);
        return { ids: batch.keys, rows: trainer.embedBatch(batch) };
      },
    });
    // Features of a bounded sample, then every image in blocks; labels come back in file-list order, 0 for images
    // that failed to decode (they keep failing, so they are never sampled).
    const result = await trainer.refitInChunks(source, Rng.fromSeed(derivedSeed(this.spec.seed, STREAM.refit, epoch)), onIteration);
    const testLabels = await this.assignTestImages(trainer, result.state);
    const labels = result.labels;
    await savePseudoLabels(this.deps.store, this.spec.runId, epoch, {
      labels,
      nmi: result.nmi,
      sizes: result.sizes,
      ...(testLabels ? { testLabels } : {}),
    });
    const log = await this.log.open();
    if (Number.isFinite(result.nmi)) log.scalar('deepcluster/nmi_with_previous', step, result.nmi);
    log.scalar('deepcluster/kmeans_inertia', step, result.inertia);
    log.histogram('deepcluster/cluster_sizes', step, result.sizes);
    await this.log.flush();
    const metrics: Record<string, number> = { kmeans_inertia: result.inertia, empty_clusters: result.sizes.filter((n) => n === 0).length };
    if (Number.isFinite(result.nmi)) metrics.nmi = result.nmi;
    return metrics;
  }

  /**
   * Downstream monitoring: a linear probe on globally average-pooled features of the labelled images, deterministic
   * 2:1 split. Single-label files: accuracy and the confusion matrix; multi-label files: ROC AUC per class and its mean.
   */
  async evaluate(_epoch: number, step: number): Promise<Record<string, number>> {
    const { labels, multiLabels } = this.spec;
    if (multiLabels) return this.evaluateMultiLabel(multiLabels, step);
    if (!labels) throw new Error('evaluateDownstream: this run has no labels');
    const { train, test } = splitLabels(labels);
    const trainSet = await this.pooledRows(train);
    const testSet = await this.pooledRows(test);
    const result = await linearProbe(trainSet.set, testSet.set, trainSet.dim);
    const log = await this.log.open();
    log.scalar('downstream/linear_classification_accuracy', step, result.accuracy);
    const [height, width] = result.image.shape;
    await this.log.image('downstream/linear_classification_confusion_matrix', step, { data: result.image.data, height, width });
    await this.log.flush();
    return { linear_classification_accuracy: result.accuracy };
  }

  /** Pooled features of the images of `pairs` that decode, with their labels in the same order. */
  private async pooledRows<L>(pairs: Array<[string, L]>) {
    const fcn = this.trainer.featureExtractor();
    const labelOf = new Map(pairs);
    const rows = await this.featuresOf(
      pairs.map(([key]) => key),
      (batch) => pooledFeatures(fcn, batch.images, batch.shape),
    );
    return { set: { features: rows.features, labels: rows.ids.map((key) => labelOf.get(key)!) }, dim: rows.dim };
  }

  private async evaluateMultiLabel(multi: NonNullable<RunSpec['multiLabels']>, step: number): Promise<Record<string, number>> {
    const { train, test } = splitLabels(multi.labels);
    const asSet = async (pairs: Array<[string, number[]]>) => {
      const { set } = await this.pooledRows(pairs);
      return { features: set.features, labels: Int8Array.from(set.labels.flat()) };
    };
    const result = multiLabelProbe(await asSet(train), await asSet(test), multi.classes, this.spec.seed);
    const log = await this.log.open();
    result.classes.forEach((name, c) => {
      if (!Number.isNaN(result.auc[c]!)) log.scalar(`downstream/auc/${name}`, step, result.auc[c]!);
    });
    if (!Number.isNaN(result.meanAuc)) log.scalar('downstream/mean_auc', step, result.meanAuc);
    await this.log.flush();
    return Number.isNaN(result.meanAuc) ? {} : { mean_auc: result.meanAuc };
  }

  /** The run's test images (the fixed list preparePretrain chose), decoded without augmentation. */
  private async testBatch() {
    if (!this.spec.testImages) throw new Error(`pretraining run ${this.spec.runId} has no test images`);
    const keys = await readTestFileList(this.deps.store, this.spec.runId);
    const source = this.deps.openSource(this.spec.testImages);
    return loadStepBatch({ keys, read: (key) => source.get(key), filePath: poolReader(source), input: this.spec.input, augment: null, seed: this.spec.seed, step: 0 });
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
      pseudoLabels = (await readPseudoLabels(this.deps.store, this.spec.runId, refitEpoch)).testLabels;
      if (refitEpoch > 0) previousPseudoLabels = (await readPseudoLabelsIfAny(this.deps.store, this.spec.runId, refitEpoch - every))?.testLabels;
    }
    const result = await evaluateTestSet(this.trainer, test, {
      chunk: this.spec.input.batch_size,
      seed: derivedSeed(this.spec.seed, STREAM.augment, 0x7e57),
      pseudoLabels,
      previousPseudoLabels,
    });
    const log = await this.log.open();
    const tag = (name: string) => `test/${name.replace(/^test_/, '')}`;
    for (const [name, value] of Object.entries(result.scalars)) log.scalar(tag(name), step, value);
    for (const [name, values] of Object.entries(result.histograms)) log.histogram(tag(name), step, values);
    for (const [name, image] of Object.entries(result.images)) await this.log.image(tag(name), step, image);
    await this.log.flush();
    return Object.fromEntries(Object.entries(result.scalars).map(([name, value]) => [`test_${name.replace(/^test_/, '')}`, value]));
  }

  /**
   * Writes the feature extractor to runs/<runId>/model/ with the method's other networks beside it, registers the
   * extractor with the tracker and ends the tracker run.
   */
  async exportModel(stopped: boolean): Promise<string> {
    const { runId } = this.spec;
    const metadata = { method: this.spec.method, step: this.step, stopped, input: this.spec.input };
    for (const [name, model] of Object.entries(this.trainer.exportedModels())) {
      const keys = { model: methodModelKey(runId, name), weights: methodModelWeightsKey(runId, name) };
      await exportLayersModel(this.deps.store, keys, model, { ...metadata, part: name });
    }
    const key = modelKey(runId);
    const { sha256, bytes } = await exportLayersModel(
      this.deps.store,
      { model: key, weights: modelWeightsKey(runId) },
      this.trainer.featureExtractor(),
      metadata,
    );
    await this.log.finish({ key, sha256, bytes, step: this.step });
    return key;
  }

  /**
   * Stops loading batches, hands unsent logs to the spool (a later session of the run sends them) and frees the
   * trainer. A checkpoint still being stored is finished first; whether it failed is not this call's concern.
   */
  async close(): Promise<void> {
    await this.batches.close();
    await this.checkpoints.durable().catch(() => {});
    await this.log.close();
    this.trainer.dispose();
  }
}
