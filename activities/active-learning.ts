// Active-learning round activities: fine-tune a head on stored embeddings + labels exported from the label store,
// predict every image, rank a queue, publish predictions (label store JSON API) and metrics (tracker event files).
// Each round's intermediate results live under runs/<workflowId>/rounds/<round>/, so every activity of the chain can
// be retried, on another worker, from what the previous one stored. The label store is reached only over HTTP, with
// the bearer token from the worker's settings: compute workers need not run next to the tracker.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { initBackend } from '../ml/backend.ts';
import { averagePoolMaps, loadRoundHead, type RoundHead, type RoundHeadState } from '../ml/active/index.ts';
import { fitRound, rankRound } from '../ml/active/round-compute.ts';
import { projectForMap } from '../ml/active/map-projection.ts';
import { evaluateRound } from '../ml/active/round-evaluation.ts';
import { alignWithFeatures, keepClasses, labelCounts, parseExport, type ExportedLabels } from '../ml/active/table.ts';
import type { Storage } from '../storage/index.ts';
import { readEmbeddings } from '../storage/embeddings.ts';
import { embeddingsPrefix } from '../storage/layout.ts';
import {
  promoteQueue,
  readPredictions,
  readProbs,
  readRoundHead,
  readRoundHeadIfAny,
  readRoundLabels,
  saveQueue,
  savePredictions,
  saveRoundHead,
  saveRoundLabels,
  saveRoundLosses,
  saveRoundRecipe,
} from '../storage/rounds.ts';
import { TrackerClient } from '../tracker-client/client.ts';
import { LabelStoreClient, LabelStoreRequestError } from '../tracker-client/label-store.ts';
import { activeLearningWorkflowId, type HeadOptions, type RoundClassMetrics } from '../contracts/active-learning.ts';
import { keepHeartbeating } from './heartbeat.ts';

export interface ActiveLearningDependencies {
  store: Storage;
  tracker: { url: string; token?: string };
  /** Where the tracker client spools metrics while the tracker is down (default: the OS temp folder). */
  spoolDir?: string;
}

const nonRetryable = (type: string, message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

/** The label store on the tracker: the labels a round trains on, and where it publishes its results. */
function labelStoreOf(tracker: ActiveLearningDependencies['tracker']) {
  const client = new LabelStoreClient(tracker);
  // A missing project, a wrong token or a refused payload will not change on a retry; a tracker restart will.
  async function call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      if (error instanceof LabelStoreRequestError && [400, 401, 403, 404, 409].includes(error.status)) {
        throw nonRetryable('LabelStoreError', error.message);
      }
      throw error;
    }
  }
  /** The export restricted to the classes that are not retired. */
  async function trainingLabels(project: string): Promise<{ csv: string; classes: string[]; labels: ExportedLabels }> {
    // Classes first: a class retired between the two reads is then still in the export, and dropped here.
    const classes = await call(() => client.activeClasses(project));
    const csv = await call(() => client.exportCsv(project));
    return { csv, classes, labels: keepClasses(parseExport(csv), classes) };
  }
  /** Predictions in slices, so no request body nears the tracker's limit. */
  async function putPredictions(project: string, predictions: { keys: string[]; classes: string[]; probs: Float32Array }) {
    const { keys, classes, probs } = predictions;
    const k = classes.length;
    const slice = 5000;
    for (let start = 0; start < keys.length; start += slice) {
      const part = keys.slice(start, start + slice);
      const rows = part.map((_, j) => Array.from(probs.subarray((start + j) * k, (start + j + 1) * k)));
      await call(() => client.putPredictions(project, { keys: part, classes, probs: rows }));
    }
  }
  const putQueue = (project: string, queue: { round: number; sort: string; keys: string[] }) =>
    call(() => client.putQueue(project, queue));
  /** The map of these embeddings, computed once per model hash (a later round finds it stored); in slices. */
  async function publishMap(project: string, modelHash: string, keys: string[], features: Float32Array, onProgress: () => void) {
    const stored = await call(() => client.mapInfo(project));
    if (keys.length === 0 || (stored?.modelHash === modelHash && stored.count >= keys.length)) return;
    const { method, points } = projectForMap(features, keys.length, features.length / keys.length, {
      seed: hashSeed(modelHash),
      onProgress,
    });
    const slice = 50_000;
    for (let start = 0; start < keys.length; start += slice) {
      const end = Math.min(start + slice, keys.length);
      const xy = Array.from(points.subarray(2 * start, 2 * end));
      await call(() => client.putMap(project, { modelHash, method, keys: keys.slice(start, end), xy }));
    }
  }
  return { trainingLabels, putPredictions, putQueue, publishMap };
}

/** A seed from the model hash, so the same embeddings give the same map. */
function hashSeed(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The project of a labeling workflow (its id is activeLearningWorkflowId(project)), or undefined for another id. */
function projectOfRun(runId: string): string | undefined {
  const prefix = activeLearningWorkflowId('');
  return runId.startsWith(prefix) && runId.length > prefix.length ? runId.slice(prefix.length) : undefined;
}

interface RoundMetrics {
  classes: RoundClassMetrics[];
  meanAuc: number | null;
  trainLoss: number | null;
  labelled: number;
  queueSize: number;
}

/** The round's metrics as scalars at step = round in the tracker run `runId`. */
async function logRoundMetrics(deps: ActiveLearningDependencies, runId: string, round: number, m: RoundMetrics) {
  const { client } = await TrackerClient.start({
    url: deps.tracker.url,
    token: deps.tracker.token ?? '',
    run: runId,
    workflowId: runId,
    startStep: round,
    spoolDir: deps.spoolDir,
    startTimeoutMs: 60_000,
  });
  const step = round;
  for (const c of m.classes) {
    for (const name of ['auc', 'precision', 'recall'] as const) {
      if (c[name] !== null) client.scalar(`active/${c.name}/${name}`, step, c[name]!);
    }
    client.scalar(`active/${c.name}/positives`, step, c.positives);
  }
  if (m.meanAuc !== null) client.scalar('active/mean_auc', step, m.meanAuc);
  if (m.trainLoss !== null) client.scalar('active/train_loss', step, m.trainLoss);
  client.scalar('active/labelled', step, m.labelled);
  client.scalar('active/queue_size', step, m.queueSize);
  await client.close({ timeoutMs: 60_000 });
}

export function createActiveLearningActivities(deps: ActiveLearningDependencies) {
  const labels = labelStoreOf(deps.tracker);

  /** The round's labels (as its first activity stored them) aligned with the model's embeddings. */
  async function roundInputs(runId: string, round: number, modelHash: string) {
    const { csv, classes } = await readRoundLabels(deps.store, runId, round);
    const exported = keepClasses(parseExport(csv), classes);
    const embeddings = await readEmbeddings(deps.store, modelHash, () =>
      Context.current().heartbeat({ reading: modelHash }),
    );
    if (embeddings.keys.length === 0)
      throw nonRetryable('BadConfigError', `no embeddings under ${embeddingsPrefix(modelHash)}/ (run embedWorkflow first)`);
    return { ...alignWithFeatures(exported, embeddings), mapShape: embeddings.mapShape };
  }
  async function loadHead(runId: string, round: number): Promise<RoundHead> {
    await initBackend({ purpose: 'train' });
    return loadRoundHead(await readRoundHead<RoundHeadState>(deps.store, runId, round));
  }

  return {
    /** Polled by the workflow: label cells set in classes that are not retired, and whether a round could train. */
    async labelStatus(input: {
      project: string;
    }): Promise<{ images: number; labelled: number; trainable: boolean }> {
      const { table } = (await labels.trainingLabels(input.project)).labels;
      return { images: table.n, ...labelCounts(table) };
    },

    /** Exports the labels (kept with the round), then fine-tunes the head, warm-started from the last round's. */
    async fineTune(input: {
      runId: string;
      project: string;
      modelHash: string;
      round: number;
      previousRound?: number;
      head: HeadOptions;
      seed: number;
    }): Promise<{ labelled: number; trainLoss: number | null; missingEmbeddings: number }> {
      let phase = 'exporting';
      const stop = keepHeartbeating(() => ({ round: input.round, phase }));
      try {
        // The round's snapshot: the round's later activities (and their retries) read these labels and classes.
        const current = await labels.trainingLabels(input.project);
        await saveRoundLabels(deps.store, input.runId, input.round, current.csv, current.classes);
        phase = 'reading';
        const { table, features, missing, mapShape } = await roundInputs(input.runId, input.round, input.modelHash);
        const counts = labelCounts(table);
        if (!counts.trainable) {
          throw nonRetryable(
            'NotEnoughLabelsError',
            'fine-tuning needs at least one 0 and one 1 label on images that are embedded, not excluded and not validation',
          );
        }
        await initBackend({ purpose: 'train' });
        const previous =
          input.previousRound === undefined
            ? undefined
            : await readRoundHeadIfAny<RoundHeadState & { classes: string[] }>(deps.store, input.runId, input.previousRound);
        phase = 'training';
        let fitted;
        try {
          fitted = fitRound({ features, table, head: input.head, seed: input.seed, round: input.round, previous, mapShape });
        } catch (error) {
          if ((error as Error).message.startsWith('head '))
            throw nonRetryable('BadConfigError', (error as Error).message);
          throw error;
        }
        const { head, trainLoss } = fitted;
        await saveRoundHead(deps.store, input.runId, input.round, { ...head.toJSON(), classes: table.classes });
        // The loss at each step, for the labeler's Train page (the logistic head reports none).
        await saveRoundLosses(deps.store, input.runId, input.round, fitted.losses ?? []);
        await saveRoundRecipe(deps.store, input.runId, input.round, {
          modelHash: input.modelHash,
          head: { ...input.head },
          seed: input.seed,
          previousRound: input.previousRound,
        });
        head.dispose();
        return { labelled: counts.labelled, trainLoss, missingEmbeddings: missing };
      } finally {
        stop();
      }
    },

    /** Probabilities for every embedded project image (stored with the round) and per-class metrics. */
    async predictAll(input: { runId: string; round: number; modelHash: string }): Promise<{
      predicted: number;
      evaluatedOn: 'validation' | 'train';
      classes: RoundClassMetrics[];
      meanAuc: number | null;
    }> {
      const stop = keepHeartbeating(() => ({ round: input.round }));
      try {
        const { keys, table, features, mapShape } = await roundInputs(input.runId, input.round, input.modelHash);
        const head = await loadHead(input.runId, input.round);
        const probs = head.predict(features);
        head.dispose();
        await savePredictions(deps.store, input.runId, input.round, { keys, classes: table.classes, probs });
        const project = projectOfRun(input.runId);
        // The map is for the labeler only: a round goes on without it, and the next round tries again.
        if (project)
          await labels
            .publishMap(project, input.modelHash, keys, mapShape ? averagePoolMaps(features, mapShape) : features, () =>
              Context.current().heartbeat({ round: input.round, phase: 'map' }),
            )
            .catch((error: Error) => Context.current().log.warn(`no map for ${project}: ${error.message}`));
        return { predicted: keys.length, ...evaluateRound(probs, table) };
      } finally {
        stop();
      }
    },

    /** Orders the unlabeled, not excluded images by `sort` (BADGE uses the head's last-layer inputs). */
    async rankQueue(input: {
      runId: string;
      round: number;
      modelHash: string;
      sort: string;
      queueSize: number;
      seed: number;
    }): Promise<{
      queueKey: string;
      queueSize: number;
      queueHead: string[];
      note?: string;
    }> {
      const stop = keepHeartbeating(() => ({ round: input.round }));
      try {
        const { keys, table, features } = await roundInputs(input.runId, input.round, input.modelHash);
        const probs = await readProbs(deps.store, input.runId, input.round);
        const head = await loadHead(input.runId, input.round);
        let pick;
        try {
          pick = rankRound({ head, features, table, probs, sort: input.sort, queueSize: input.queueSize, seed: input.seed, round: input.round });
        } catch (error) {
          throw nonRetryable('BadConfigError', (error as Error).message);
        } finally {
          head.dispose();
        }
        await saveRoundRecipe(deps.store, input.runId, input.round, { sort: input.sort, queueSize: input.queueSize });
        const queue = pick.indices.map((i) => keys[i]!);
        const key = await saveQueue(deps.store, input.runId, { round: input.round, sort: input.sort, keys: queue, note: pick.note });
        return { queueKey: key, queueSize: queue.length, queueHead: queue.slice(0, 10), note: pick.note };
      } finally {
        stop();
      }
    },

    /**
     * Publishes the round: predictions to the label store (PUT /projects/:p/predictions, in slices), the queue as the
     * run's latest queue in the store, and the metrics as scalars at step = round in the tracker run <runId>.
     */
    async publishRound(input: { runId: string; project: string; round: number; metrics: RoundMetrics }): Promise<void> {
      const stop = keepHeartbeating(() => ({ round: input.round }));
      try {
        await labels.putPredictions(input.project, await readPredictions(deps.store, input.runId, input.round));
        const { round, sort, keys } = await promoteQueue(deps.store, input.runId, input.round);
        // The labeler page shows the queue, so the tracker's label store gets it too.
        await labels.putQueue(input.project, { round, sort, keys });
        await logRoundMetrics(deps, input.runId, input.round, input.metrics);
      } finally {
        stop();
      }
    },
  };
}

export type ActiveLearningActivities = ReturnType<typeof createActiveLearningActivities>;
