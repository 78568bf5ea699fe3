// One pretraining run as seen by a worker process: its spec and file list, a trainer restored from the latest
// checkpoint, and the run's event file. Sessions are cached per process so consecutive activities of a run on the
// same worker skip rebuilding the model; a session is reused only while its step equals the checkpoint on record.
import type { Tensor2D } from '@tensorflow/tfjs';
import { join } from 'node:path';
import { activeTf, initBackend } from '../ml/backend.ts';
import { installNativeKernels } from '../ml/kernels/native/index.ts';
import { loadLatestCheckpoint, restoreOptimizer, saveCheckpoint } from '../ml/checkpoint.ts';
import type { AugmentParams, InputOptions } from '../ml/data/index.ts';
import { DeepClusterTrainer, createTrainer, registerChannelWiseDense } from '../ml/methods/index.ts';
import { linearProbe, pooledFeatures, splitLabels } from '../ml/eval/linear-probe.ts';
import { STREAM, derivedSeed, epochOrder, loadStepBatch, stepIndices } from '../ml/methods/plan.ts';
import type { Trainer } from '../ml/methods/types.ts';
import { Rng, type RngState } from '../ml/rng.ts';
import { EventFileWriter } from '../tracker/events/index.ts';
import type { Storage } from '../storage/index.ts';
import type { PretrainMethod, PretrainPlan } from '../workflows/api.ts';

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
  plan: PretrainPlan;
}

export const specKey = (runId: string) => `runs/${runId}/spec.json`;
export const filesKey = (runId: string) => `runs/${runId}/files.txt`;
export const checkpointPrefix = (runId: string) => `runs/${runId}/ckpt`;
export const pseudoLabelsKey = (runId: string, epoch: number) => `runs/${runId}/pseudo/epoch-${String(epoch).padStart(5, '0')}.json`;
export const modelKey = (runId: string) => `runs/${runId}/model/model.json`;

interface Deps {
  store: Storage;
  openSource(location: string): Storage;
  logDir: string;
}

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
  private writer?: EventFileWriter;
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

  /** The event writer for steps from `firstStep` on; a step earlier than the open file's start means a resume. */
  private async eventWriter(firstStep: number): Promise<EventFileWriter> {
    if (this.writer && firstStep >= this.loggedUpTo) return this.writer;
    await this.writer?.close();
    this.writer = await EventFileWriter.open(join(this.deps.logDir, this.spec.runId), { startStep: firstStep, scalarForm: 'simple_value' });
    this.logged.clear();
    this.loggedUpTo = firstStep;
    return this.writer;
  }
  private loggedUpTo = 0;
  /** (tag, step) pairs already in the open event file: a retried refit or evaluation logs nothing twice. */
  private logged = new Set<string>();

  private once(tag: string, step: number, write: () => void): void {
    const key = `${tag}@${step}`;
    if (this.logged.has(key)) return;
    write();
    this.logged.add(key);
  }

  async train(
    input: { fromStep: number; toStep: number; checkpointEvery: number; learningRate?: number },
    control: { signal: AbortSignal; onProgress(progress: { step: number; checkpointStep: number }): void },
  ): Promise<{ step: number; metrics: Record<string, number> }> {
    const { plan, input: inputOptions } = this.spec;
    if (input.learningRate !== undefined) this.trainer.setBaseLearningRate(input.learningRate);
    const epoch = Math.floor(this.step / plan.stepsPerEpoch);
    const order = await this.epochOrder(epoch);
    const writer = await this.eventWriter(this.step);
    const totals: Record<string, number> = {};
    let count = 0;
    const batchAt = (step: number) =>
      loadStepBatch({
        keys: stepIndices(order, step - epoch * plan.stepsPerEpoch, inputOptions.batch_size).map((i) => this.files[i]),
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
        writer.addScalar(`train/${tag}`, value, step);
        totals[tag] = (totals[tag] ?? 0) + value;
      }
      count++;
      this.step = step + 1;
      this.loggedUpTo = this.step;
      if (this.step % input.checkpointEvery === 0 || this.step === input.toStep) {
        await this.checkpoint(epoch);
        await writer.flush();
        checkpointStep = this.step;
      }
      control.onProgress({ step: this.step, checkpointStep });
    }
    const metrics = Object.fromEntries(Object.entries(totals).map(([tag, sum]) => [tag, sum / Math.max(count, 1)]));
    return { step: this.step, metrics };
  }

  private async epochOrder(epoch: number): Promise<Int32Array> {
    const { plan, input } = this.spec;
    let sample: number[] | undefined;
    if (this.trainer instanceof DeepClusterTrainer) {
      const refitEpoch = epoch - (epoch % plan.refitEvery);
      const saved = JSON.parse((await this.deps.store.get(pseudoLabelsKey(this.spec.runId, refitEpoch))).toString('utf8')) as { labels: number[] };
      this.trainer.state.labels = saved.labels;
      this.trainer.resetHeadIfNeeded(refitEpoch);
      sample = this.trainer.epochSample(Rng.fromSeed(derivedSeed(this.spec.seed, STREAM.epochOrder, epoch)));
    }
    return epochOrder({ files: this.files.length, stepsPerEpoch: plan.stepsPerEpoch, batchSize: input.batch_size, seed: this.spec.seed, epoch, sample });
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
    // Images that failed to decode keep label 0 but never get sampled if they keep failing; map back to file order.
    const labels = new Array<number>(this.files.length).fill(0);
    kept.forEach((fileIndex, row) => (labels[fileIndex] = result.labels[row]));
    trainer.state.labels = labels;
    await this.deps.store.put(pseudoLabelsKey(this.spec.runId, epoch), JSON.stringify({ labels, nmi: result.nmi, sizes: result.sizes }));
    const writer = await this.eventWriter(step);
    if (Number.isFinite(result.nmi)) this.once('deepcluster/nmi_with_previous', step, () => writer.addScalar('deepcluster/nmi_with_previous', result.nmi, step));
    this.once('deepcluster/kmeans_inertia', step, () => writer.addScalar('deepcluster/kmeans_inertia', result.inertia, step));
    this.once('deepcluster/cluster_sizes', step, () => writer.addHistogram('deepcluster/cluster_sizes', result.sizes, step));
    await writer.flush();
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
    const writer = await this.eventWriter(step);
    if (!this.hparamsWritten) {
      const hparams = this.hparams();
      writer.addHparamsExperiment(
        {
          hparams: Object.entries(hparams).map(([name, value]) => ({ name, type: typeof value === 'number' ? 'float' : typeof value === 'boolean' ? 'bool' : 'string' })),
          metrics: [{ tag: 'downstream/linear_classification_accuracy' }],
        },
        step,
      );
      writer.addHparamsSessionStart(hparams, {}, step);
      this.hparamsWritten = true;
    }
    this.once('downstream/linear_classification_accuracy', step, () => writer.addScalar('downstream/linear_classification_accuracy', result.accuracy, step));
    const [height, width] = result.image.shape;
    const image = { data: result.image.data, height, width, channels: 3 as const };
    this.once('downstream/linear_classification_confusion_matrix', step, () => void writer.addImages('downstream/linear_classification_confusion_matrix', image, step));
    await writer.flush();
    return { linear_classification_accuracy: result.accuracy };
  }
  private hparamsWritten = false;

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
    await this.deps.store.put(`runs/${this.spec.runId}/model/weights.bin`, weights);
    await this.deps.store.put(
      key,
      JSON.stringify({
        modelTopology: artifacts!.modelTopology,
        format: 'layers-model',
        generatedBy: 'patchwork',
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts!.weightSpecs }],
        userDefinedMetadata: { method: this.spec.method, step: this.step, stopped, input: this.spec.input },
      }),
    );
    return key;
  }

  async close(): Promise<void> {
    await this.writer?.close();
    this.writer = undefined;
    this.trainer.dispose();
  }
}
