import { ApplicationFailure, Context } from '@temporalio/activity';
import { StorageError, type Storage } from '../storage/index.ts';
import type { PretrainMethod, PretrainPlan } from '../contracts/pretrain.ts';
import type { AugmentParams, InputOptions } from '../ml/data/index.ts';
import { validatePretrainRequest } from '../ml/methods/run-config.ts';
import { epochPlan } from '../ml/methods/plan.ts';
import { parseProbeLabels, type ProbeLabels } from '../ml/eval/probe-labels.ts';
import { listImageKeys } from '../storage/image-keys.ts';
import { initialModelKey, initialModelWeightsKey } from '../storage/layout.ts';
import { initBackend } from '../ml/backend.ts';
import { exportLayersModel } from '../ml/model-artifacts.ts';
import { loadFeatureModel } from '../ml/models/load.ts';
import { saveRunInputs, type RunSpec } from '../storage/pretrain-run.ts';
import { closeTrainingSession, withTrainingSession } from './session-cache.ts';
import type { TrackerSettings } from './run-log.ts';
import { keepHeartbeating } from './heartbeat.ts';

/** Test images used for out-of-sample losses: the first ones in key order (the set stays fixed for the run). */
export const MAX_TEST_IMAGES = 256;

export interface PretrainDependencies {
  store: Storage;
  openSource(location: string): Storage;
  /** Every scalar, image and histogram goes to the tracker (workers need not share a disk with it). */
  tracker: TrackerSettings;
  /** Where the tracker client spools while the tracker is unreachable. */
  spoolDir?: string;
}

function badConfig(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'BadConfigError', message, nonRetryable: true });
}

export function createPretrainActivities(deps: PretrainDependencies) {
  return {
    /** Validates the config, lists the images and writes the run's spec and file list to the store. */
    async preparePretrain(input: {
      runId: string;
      method: PretrainMethod;
      images: string;
      config: Record<string, unknown>;
      labels?: string;
      testImages?: string;
      initialModel?: string;
      epochs: number;
      seed: number;
    }): Promise<PretrainPlan> {
      let inputOptions: InputOptions;
      let augment: AugmentParams | null;
      let methodConfig: Record<string, unknown>;
      let notes: string | undefined;
      try {
        ({ input: inputOptions, augment, method: methodConfig, notes } = validatePretrainRequest(input));
      } catch (error) {
        throw badConfig((error as Error).message);
      }

      const initialModel = input.initialModel
        ? await copyInitialModel(deps, input.runId, input.initialModel, inputOptions)
        : undefined;
      const files = await listImages(deps, input.images, 'images');
      const testFiles = input.testImages ? (await listImages(deps, input.testImages, 'testImages')).sort().slice(0, MAX_TEST_IMAGES) : [];

      const probe = input.labels ? await readLabels(deps, input.labels, files, input.images) : undefined;
      const { stepsPerEpoch, imagesPerStep, refitEvery } = epochPlan({
        method: input.method,
        files: files.length,
        batchSize: inputOptions.batch_size,
        mult: methodConfig.mult as number | undefined,
        r: methodConfig.r as number | undefined,
      });
      const plan: PretrainPlan = {
        files: files.length,
        stepsPerEpoch,
        imagesPerStep,
        totalSteps: stepsPerEpoch * input.epochs,
        refitEvery,
        hasLabels: probe !== undefined,
        testFiles: testFiles.length,
      };
      const spec: RunSpec = {
        version: 1,
        runId: input.runId,
        method: input.method,
        images: input.images,
        input: inputOptions,
        augment,
        methodConfig,
        ...(notes ? { notes } : {}),
        seed: input.seed,
        epochs: input.epochs,
        labels: probe?.kind === 'single' ? probe.labels : undefined,
        multiLabels: probe?.kind === 'multi' ? { classes: probe.classes, labels: probe.labels } : undefined,
        testImages: input.testImages,
        initialModel,
        plan,
      };
      await saveRunInputs(deps.store, spec, files, testFiles);
      return plan;
    },

    /** DeepCluster: features of every image -> PCA -> k-means -> pseudo-labels for the epochs until the next refit. */
    async refitClusters(input: { runId: string; epoch: number; step: number }): Promise<Record<string, number>> {
      const stop = keepHeartbeating(() => ({ refitEpoch: input.epoch }));
      try {
        return await withTrainingSession(deps, input.runId, (session) =>
          session.refit(input.epoch, input.step, () => Context.current().heartbeat({ refitEpoch: input.epoch })),
        );
      } finally {
        stop();
      }
    },

    /**
     * Trains steps [fromStep, toStep) (fewer if maxSeconds runs out first), resuming from the latest checkpoint;
     * checkpoints on the way and at the end, and returns the step reached once its checkpoint is in the store.
     */
    async trainSteps(input: {
      runId: string;
      fromStep: number;
      toStep: number;
      /** Extra checkpoints every this many steps (histories before time-based chunks always give it). */
      checkpointEvery?: number;
      /** End early, with a checkpoint, at the first step after this many seconds of training. */
      maxSeconds?: number;
      learningRate?: number;
    }): Promise<{ step: number; metrics: Record<string, number> }> {
      let progress = { step: input.fromStep, checkpointStep: input.fromStep };
      const stop = keepHeartbeating(() => progress);
      try {
        return await withTrainingSession(deps, input.runId, (session) =>
          session.train(input, {
            signal: Context.current().cancellationSignal,
            onProgress: (p) => (progress = p),
          }),
        );
      } finally {
        stop();
      }
    },

    /** Linear probe on the labelled images with the current features. */
    async evaluateDownstream(input: { runId: string; epoch: number; step: number }): Promise<Record<string, number>> {
      const stop = keepHeartbeating(() => ({ evaluateEpoch: input.epoch }));
      try {
        return await withTrainingSession(deps, input.runId, (session) => session.evaluate(input.epoch, input.step));
      } finally {
        stop();
      }
    },

    /** Out-of-sample losses on the run's test images (and Context Encoder inpaintings) at the end of an epoch. */
    async evaluateTestSet(input: { runId: string; epoch: number; step: number }): Promise<Record<string, number>> {
      const stop = keepHeartbeating(() => ({ testEpoch: input.epoch }));
      try {
        return await withTrainingSession(deps, input.runId, (session) => session.evaluateTest(input.epoch, input.step));
      } finally {
        stop();
      }
    },

    /** Writes the trained feature extractor to runs/<runId>/model/, registers it with the tracker, ends the run there. */
    async exportModel(input: { runId: string; step: number; stopped: boolean }): Promise<string> {
      const stop = keepHeartbeating(() => ({ exporting: input.step }));
      try {
        const key = await withTrainingSession(deps, input.runId, (session) => session.exportModel(input.stopped));
        await closeTrainingSession(input.runId);
        return key;
      } finally {
        stop();
      }
    },
  };
}

export type PretrainActivities = ReturnType<typeof createPretrainActivities>;

/**
 * Loads the user's extractor once, checks that it fits the run's input, and copies it into the store: every worker
 * then builds the same network whatever its disk holds. Returns the copy's key.
 */
async function copyInitialModel(deps: PretrainDependencies, runId: string, source: string, input: InputOptions): Promise<string> {
  await initBackend({ purpose: 'infer' });
  const channels = input.sobel ? 3 : input.num_channels;
  let model;
  try {
    model = await loadFeatureModel(source, { channels });
  } catch (error) {
    throw badConfig(`initialModel: ${(error as Error).message}`);
  }
  try {
    const [, height, width] = model.inputs[0]!.shape;
    const [wantHeight, wantWidth] = input.imshape;
    if ((height != null && height !== wantHeight) || (width != null && width !== wantWidth)) {
      throw badConfig(
        `initialModel: ${source} takes ${height}x${width} images but input.imshape is ${wantHeight}x${wantWidth}; ` +
          'set input.imshape to the model\'s size, or save the model with a flexible input size (None, None)',
      );
    }
    const keys = { model: initialModelKey(runId), weights: initialModelWeightsKey(runId) };
    await exportLayersModel(deps.store, keys, model, { source });
    return keys.model;
  } finally {
    model.dispose();
  }
}

/** Image keys under a folder or s3:// location; a missing or empty source is a BadSourceError naming the option. */
async function listImages(deps: PretrainDependencies, location: string, option: string): Promise<string[]> {
  let files: string[];
  try {
    const source = deps.openSource(location);
    let listed = 0;
    const stop = keepHeartbeating(() => ({ listed, option }));
    try {
      files = await listImageKeys(source, (images) => (listed = images));
    } finally {
      stop();
    }
  } catch (error) {
    if (error instanceof StorageError && error.code !== 'UNREACHABLE' && error.code !== 'IO') {
      throw ApplicationFailure.create({ type: 'BadSourceError', message: `${option}: ${error.message}`, nonRetryable: true });
    }
    throw error;
  }
  if (files.length === 0) {
    throw ApplicationFailure.create({ type: 'BadSourceError', message: `${option}: no images (png, jpeg, tiff, webp, gif) under ${location}`, nonRetryable: true });
  }
  return files;
}

/** The probe's labels CSV (either layout, see ml/eval/probe-labels.ts), matched to the run's image keys. */
async function readLabels(deps: PretrainDependencies, location: string, files: string[], images: string): Promise<ProbeLabels> {
  const slash = location.lastIndexOf('/');
  let text: string;
  try {
    text = (await deps.openSource(location.slice(0, Math.max(slash, 0)) || '.').get(location.slice(slash + 1))).toString('utf8');
  } catch (error) {
    throw badConfig(`cannot read labels ${location}: ${(error as Error).message}`);
  }
  try {
    return parseProbeLabels(text, files, location, images);
  } catch (error) {
    throw badConfig((error as Error).message);
  }
}
