// Active-learning round activities: fine-tune a head on stored embeddings + labels exported from the label store,
// predict every image, rank a queue, publish predictions (label store JSON API) and metrics (tracker event files).
// Each round's intermediate results live under runs/<workflowId>/rounds/<round>/, so every activity of the chain can
// be retried, on another worker, from what the previous one stored. The label store is reached only over HTTP, with
// the bearer token from the worker's settings: compute workers need not run next to the tracker.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { parse as parseCsv } from 'csv-parse/sync';
import { initBackend } from '../ml/backend.ts';
import {
  classMetrics,
  fitRoundHead,
  loadRoundHead,
  meanAuc,
  pickIndices,
  type LabelTable,
  type RoundHead,
  type RoundHeadState,
} from '../ml/active/index.ts';
import { Rng } from '../ml/rng.ts';
import { unescapeCell } from '../contracts/csv-cells.ts';
import { StorageError, type Storage } from '../storage/index.ts';
import { TrackerClient } from '../tracker-client/client.ts';
import type { HeadOptions, RoundClassMetrics } from '../contracts/active-learning.ts';
import { readEmbeddings, type EmbeddingTable } from './embeddings-store.ts';
import {
  embeddingsPrefix,
  latestQueueKey,
  queueKey,
  roundClassesKey,
  roundHeadKey,
  roundKeysKey,
  roundLabelsKey,
  roundProbsKey,
} from '../storage/layout.ts';
import { keepHeartbeating } from './heartbeat.ts';

export interface ActiveLearningDependencies {
  store: Storage;
  tracker: { url: string; token?: string };
  /** Where the tracker client spools metrics while the tracker is down (default: the OS temp folder). */
  spoolDir?: string;
}

const nonRetryable = (type: string, message: string) =>
  ApplicationFailure.create({ type, message, nonRetryable: true });

/** A label-store export: one row per image in project order. */
export interface ExportedLabels {
  keys: string[];
  table: LabelTable;
}

/** Parses the label store's CSV export (filepath, exclude, validation, [viewpath], one column per class). */
export function parseExport(text: string): ExportedLabels {
  // Keys and class names that a spreadsheet would run as a formula are exported with a leading quote.
  const records = (parseCsv(text, { bom: true, skip_empty_lines: true }) as string[][]).map((r) =>
    r.map(unescapeCell),
  );
  if (records.length === 0) throw new Error('label export is empty');
  const header = records[0]!;
  const col = (name: string) => header.indexOf(name);
  const classCols = header
    .map((h, i) => ({ h, i }))
    .filter(({ h }) => !['filepath', 'exclude', 'validation', 'viewpath'].includes(h));
  const rows = records.slice(1);
  const k = classCols.length;
  const table: LabelTable = {
    n: rows.length,
    classes: classCols.map((c) => c.h),
    labels: new Int8Array(rows.length * k).fill(-1),
    exclude: new Uint8Array(rows.length),
    validation: new Uint8Array(rows.length),
  };
  const truthy = (v: string | undefined) =>
    v !== undefined && ['true', '1', '1.0'].includes(v.trim().toLowerCase());
  rows.forEach((r, i) => {
    table.exclude[i] = truthy(r[col('exclude')]) ? 1 : 0;
    table.validation[i] = truthy(r[col('validation')]) ? 1 : 0;
    classCols.forEach((c, j) => {
      const v = r[c.i]!.trim();
      if (v === '0' || v === '1') table.labels[i * k + j] = Number(v);
    });
  });
  return { keys: rows.map((r) => r[col('filepath')]!), table };
}

/**
 * The labels of `classes` only, in that order: retired classes stay in the store and its export but are neither
 * trained nor predicted. Classes of `classes` missing from the export are an error (the export and the class list were
 * read at different times: a retry reads both again).
 */
export function keepClasses(labels: ExportedLabels, classes: string[]): ExportedLabels {
  const from = labels.table.classes;
  const columns = classes.map((name) => {
    const c = from.indexOf(name);
    if (c < 0)
      throw new Error(
        `class ${JSON.stringify(name)} is not in the label export (columns: ${from.join(', ')})`,
      );
    return c;
  });
  const k = from.length;
  const table: LabelTable = {
    ...labels.table,
    classes: [...classes],
    labels: new Int8Array(labels.table.n * classes.length),
  };
  for (let i = 0; i < table.n; i++)
    columns.forEach((c, j) => (table.labels[i * classes.length + j] = labels.table.labels[i * k + c]!));
  return { keys: labels.keys, table };
}

/** Set label cells, and whether the training rows hold at least one 0 and one 1 (what stratified sampling needs). */
export function labelCounts(table: LabelTable): { labelled: number; trainable: boolean } {
  let labelled = 0;
  let zero = false;
  let one = false;
  const k = table.classes.length;
  for (let i = 0; i < table.n; i++) {
    for (let c = 0; c < k; c++) {
      const v = table.labels[i * k + c]!;
      if (v === -1) continue;
      labelled++;
      if (table.exclude[i] || table.validation[i]) continue;
      if (v === 0) zero = true;
      else one = true;
    }
  }
  return { labelled, trainable: zero && one };
}

/** The rows of `labels` that have an embedding, as a table aligned with a feature matrix. */
function align(
  labels: ExportedLabels,
  embeddings: EmbeddingTable,
): { keys: string[]; table: LabelTable; features: Float32Array; missing: number } {
  const rowOf = new Map(embeddings.keys.map((key, i) => [key, i]));
  const keep = labels.keys.map((key, i) => [key, i] as const).filter(([key]) => rowOf.has(key));
  const k = labels.table.classes.length;
  const d = embeddings.dim;
  const table: LabelTable = {
    n: keep.length,
    classes: labels.table.classes,
    labels: new Int8Array(keep.length * k),
    exclude: new Uint8Array(keep.length),
    validation: new Uint8Array(keep.length),
  };
  const features = new Float32Array(keep.length * d);
  keep.forEach(([key, i], j) => {
    table.labels.set(labels.table.labels.subarray(i * k, i * k + k), j * k);
    table.exclude[j] = labels.table.exclude[i]!;
    table.validation[j] = labels.table.validation[i]!;
    const r = rowOf.get(key)!;
    features.set(embeddings.data.subarray(r * d, r * d + d), j * d);
  });
  return { keys: keep.map(([key]) => key), table, features, missing: labels.keys.length - keep.length };
}

const nullable = (v: number) => (Number.isFinite(v) ? v : null);

export function createActiveLearningActivities(deps: ActiveLearningDependencies) {
  async function labelStore(method: 'GET' | 'PUT', path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (deps.tracker.token) headers.authorization = `Bearer ${deps.tracker.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const url = `${deps.tracker.url.replace(/\/+$/, '')}/projects${path}`;
    const response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.ok) return response;
    const text = await response.text();
    const message = `${method} ${url}: ${response.status} ${text.slice(0, 500)}`;
    // A missing project, a wrong token or a refused payload will not change on a retry; a tracker restart will.
    if ([400, 401, 403, 404, 409].includes(response.status)) throw nonRetryable('LabelStoreError', message);
    throw new Error(message);
  }
  const exportLabels = async (project: string) =>
    (await labelStore('GET', `/${encodeURIComponent(project)}/export.csv`)).text();
  /** The project's classes that are not retired, in column order. */
  async function activeClasses(project: string): Promise<string[]> {
    const body = (await (await labelStore('GET', `/${encodeURIComponent(project)}/classes`)).json()) as {
      classes: { name: string; retired: boolean }[];
    };
    return body.classes.filter((c) => !c.retired).map((c) => c.name);
  }
  /** The export restricted to the classes that are not retired. */
  async function trainingLabels(
    project: string,
  ): Promise<{ csv: string; classes: string[]; labels: ExportedLabels }> {
    // Classes first: a class retired between the two reads is then still in the export, and dropped here.
    const classes = await activeClasses(project);
    const csv = await exportLabels(project);
    return { csv, classes, labels: keepClasses(parseExport(csv), classes) };
  }

  async function readJson<T>(key: string): Promise<T> {
    return JSON.parse((await deps.store.get(key)).toString('utf8')) as T;
  }
  async function roundInputs(runId: string, round: number, modelHash: string) {
    const { classes } = await readJson<{ classes: string[] }>(roundClassesKey(runId, round));
    const labels = keepClasses(
      parseExport((await deps.store.get(roundLabelsKey(runId, round))).toString('utf8')),
      classes,
    );
    const embeddings = await readEmbeddings(deps.store, modelHash, () =>
      Context.current().heartbeat({ reading: modelHash }),
    );
    if (embeddings.keys.length === 0)
      throw nonRetryable(
        'BadConfigError',
        `no embeddings under ${embeddingsPrefix(modelHash)}/ (run embedWorkflow first)`,
      );
    return align(labels, embeddings);
  }
  async function loadHead(runId: string, round: number): Promise<RoundHead> {
    await initBackend({ purpose: 'train' });
    return loadRoundHead(await readJson<RoundHeadState>(roundHeadKey(runId, round)));
  }

  return {
    /** Polled by the workflow: label cells set in classes that are not retired, and whether a round could train. */
    async labelStatus(input: {
      project: string;
    }): Promise<{ images: number; labelled: number; trainable: boolean }> {
      const { table } = (await trainingLabels(input.project)).labels;
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
        const current = await trainingLabels(input.project);
        await deps.store.put(roundLabelsKey(input.runId, input.round), current.csv);
        await deps.store.put(roundClassesKey(input.runId, input.round), JSON.stringify({ classes: current.classes }));
        phase = 'reading';
        const { table, features, missing } = await roundInputs(input.runId, input.round, input.modelHash);
        const counts = labelCounts(table);
        if (!counts.trainable) {
          throw nonRetryable(
            'NotEnoughLabelsError',
            'fine-tuning needs at least one 0 and one 1 label on images that are embedded, not excluded and not validation',
          );
        }
        await initBackend({ purpose: 'train' });
        let previous: (RoundHeadState & { classes: string[] }) | undefined;
        if (input.previousRound !== undefined) {
          try {
            previous = await readJson(roundHeadKey(input.runId, input.previousRound));
          } catch (error) {
            if (!(error instanceof StorageError && error.code === 'NOT_FOUND')) throw error;
          }
        }
        phase = 'training';
        let fitted;
        try {
          fitted = fitRoundHead({
            features,
            table,
            options: input.head,
            seed: input.seed * 1000 + input.round,
            previous,
          });
        } catch (error) {
          if ((error as Error).message.startsWith('head '))
            throw nonRetryable('BadConfigError', (error as Error).message);
          throw error;
        }
        const { head, trainLoss } = fitted;
        await deps.store.put(
          roundHeadKey(input.runId, input.round),
          JSON.stringify({ ...head.toJSON(), classes: table.classes }),
        );
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
        const { keys, table, features } = await roundInputs(input.runId, input.round, input.modelHash);
        const head = await loadHead(input.runId, input.round);
        const probs = head.predict(features);
        head.dispose();
        await deps.store.put(roundProbsKey(input.runId, input.round), new Uint8Array(probs.buffer));
        await deps.store.put(roundKeysKey(input.runId, input.round), JSON.stringify({ keys, classes: table.classes }));
        const k = table.classes.length;
        const labelledRow = (i: number) => table.labels.subarray(i * k, i * k + k).some((v) => v !== -1);
        const rowsOf = (validation: number) =>
          Array.from({ length: table.n }, (_, i) => i).filter(
            (i) => !table.exclude[i] && table.validation[i] === validation && labelledRow(i),
          );
        const validation = rowsOf(1);
        const evaluatedOn = validation.length > 0 ? 'validation' : 'train';
        const metrics = classMetrics(probs, table, validation.length > 0 ? validation : rowsOf(0));
        return {
          predicted: keys.length,
          evaluatedOn,
          classes: metrics.map((m) => ({
            name: m.name,
            positives: m.positives,
            negatives: m.negatives,
            auc: nullable(m.auc),
            precision: nullable(m.precision),
            recall: nullable(m.recall),
          })),
          meanAuc: nullable(meanAuc(metrics)),
        };
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
        const bytes = await deps.store.get(roundProbsKey(input.runId, input.round));
        const probs = new Float32Array(new Uint8Array(bytes).buffer);
        const head = await loadHead(input.runId, input.round);
        const embedding = input.sort === 'diverse (badge)' ? head.embed(features) : undefined;
        head.dispose();
        let pick;
        try {
          pick = pickIndices(table, {
            subset: 'unlabeled',
            sort: input.sort,
            count: input.queueSize,
            rng: Rng.fromSeed(input.seed * 1000 + input.round),
            probs,
            embedding,
          });
        } catch (error) {
          throw nonRetryable('BadConfigError', (error as Error).message);
        }
        const queue = pick.indices.map((i) => keys[i]!);
        const key = queueKey(input.runId, input.round);
        await deps.store.put(
          key,
          JSON.stringify({ round: input.round, sort: input.sort, keys: queue, note: pick.note }),
        );
        return { queueKey: key, queueSize: queue.length, queueHead: queue.slice(0, 10), note: pick.note };
      } finally {
        stop();
      }
    },

    /**
     * Publishes the round: predictions to the label store (PUT /projects/:p/predictions, in slices), the queue as the
     * run's latest queue in the store, and the metrics as scalars at step = round in the tracker run <runId>.
     */
    async publishRound(input: {
      runId: string;
      project: string;
      round: number;
      metrics: {
        classes: RoundClassMetrics[];
        meanAuc: number | null;
        trainLoss: number | null;
        labelled: number;
        queueSize: number;
      };
    }): Promise<void> {
      const stop = keepHeartbeating(() => ({ round: input.round }));
      try {
        const { keys, classes } = await readJson<{ keys: string[]; classes: string[] }>(roundKeysKey(input.runId, input.round));
        const probs = new Float32Array(new Uint8Array(await deps.store.get(roundProbsKey(input.runId, input.round))).buffer);
        const k = classes.length;
        const slice = 5000;
        for (let start = 0; start < keys.length; start += slice) {
          const part = keys.slice(start, start + slice);
          await labelStore('PUT', `/${encodeURIComponent(input.project)}/predictions`, {
            keys: part,
            classes,
            probs: part.map((_, j) => Array.from(probs.subarray((start + j) * k, (start + j + 1) * k))),
          });
        }
        const queue = await deps.store.get(queueKey(input.runId, input.round));
        await deps.store.put(latestQueueKey(input.runId), queue);
        // The labeler page shows the queue, so the tracker's label store gets it too.
        const {
          round,
          sort,
          keys: queued,
        } = JSON.parse(queue.toString('utf8')) as {
          round: number;
          sort: string;
          keys: string[];
        };
        await labelStore('PUT', `/${encodeURIComponent(input.project)}/queue`, { round, sort, keys: queued });

        const { client } = await TrackerClient.start({
          url: deps.tracker.url,
          token: deps.tracker.token ?? '',
          run: input.runId,
          workflowId: input.runId,
          startStep: input.round,
          spoolDir: deps.spoolDir,
          startTimeoutMs: 60_000,
        });
        const m = input.metrics;
        const step = input.round;
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
      } finally {
        stop();
      }
    },
  };
}

export type ActiveLearningActivities = ReturnType<typeof createActiveLearningActivities>;
