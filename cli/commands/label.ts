// `patchwork label` and `patchwork retrain`: set a labeling project up in the tracker's label store, embed its images,
// and start (or attach to) the project's long-lived active-learning workflow.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { embeddingsPrefix, modelKey, sourceKeysKey } from '../../storage/layout.ts';
import { listParts, readPartKeys } from '../../storage/embeddings.ts';
import { loadSettings, type Settings } from '../../config/settings.ts';
import { CLASS_SORTS } from '../../ml/active/query.ts';
import { checkHeadOptions, HEAD_KINDS, HEAD_OUTPUTS, MAP_HEAD_KINDS, type HeadKind, type HeadOptions } from '../../ml/active/head-options.ts';
import { openStorage, parseLocation } from '../../storage/index.ts';
import { connectClient } from '../temporal-client.ts';
import { activeLearningWorkflow, embedWorkflow } from '../../workflows/index.ts';
import { TASK_QUEUES } from '../../contracts/task-queues.ts';
import { activeLearningStatusQuery, activeLearningWorkflowId, QUERY_SORTS, retrainSignal, type ActiveLearningCarried, type RetrainRequest, type ActiveLearningStatus } from '../../contracts/active-learning.ts';
import { embedProgressQuery, type EmbedResult } from '../../contracts/embed.ts';
import { checkProject, LabelStoreClient } from '../../tracker-client/label-store.ts';
import { followWithBar } from '../progress.ts';
import { modelLocation } from '../model-location.ts';

export interface LabelOptions {
  images?: string;
  run?: string;
  model?: string;
  classes?: string;
  every?: number;
  queueSize?: number;
  sort?: string;
  head?: string;
  hidden?: number;
  headEpochs?: number;
  entropyWeight?: number;
  labelSmoothing?: number;
  headOutput?: string;
  pooling?: string;
  layers?: number;
  filters?: number;
  kernel?: number;
  separable?: boolean;
  spatialDropout?: number;
  embeddings?: string;
  featureMaps?: boolean;
  status?: boolean;
}

/** The head options of the flags, checked here so a bad value is named before the loop starts. */
function headOptions(options: LabelOptions, context = { embedding: true }): HeadOptions {
  const { head: kind, hidden, headEpochs, entropyWeight, labelSmoothing, headOutput } = options;
  if (headOutput !== undefined && !(HEAD_OUTPUTS as readonly string[]).includes(headOutput))
    throw new Error(`--head-output ${JSON.stringify(headOutput)} is not an output; use one of: ${HEAD_OUTPUTS.join(', ')}`);
  if (kind !== undefined && !(HEAD_KINDS as readonly string[]).includes(kind))
    throw new Error(`--head ${JSON.stringify(kind)} is not a head; use one of: ${HEAD_KINDS.join(', ')}`);
  if (entropyWeight !== undefined && !(entropyWeight >= 0))
    throw new Error(`--entropy-weight ${entropyWeight} is out of range: use a number >= 0`);
  if (labelSmoothing !== undefined && !(labelSmoothing >= 0 && labelSmoothing < 1))
    throw new Error(`--label-smoothing ${labelSmoothing} is out of range: use a number >= 0 and below 1`);
  const sgdFlags = {
    '--hidden': hidden,
    '--head-epochs': headEpochs,
    '--entropy-weight': entropyWeight,
    '--label-smoothing': labelSmoothing,
    '--head-output': headOutput,
  };
  const given = Object.keys(sgdFlags).filter((flag) => sgdFlags[flag as keyof typeof sgdFlags] !== undefined);
  if ((kind ?? 'logistic') === 'logistic' && given.length > 0)
    throw new Error(
      `${given.join(', ')} ${given.length === 1 ? 'applies' : 'apply'} to --head linear, mlp, pool or convnet, not to the logistic head; add --head linear (or another)`,
    );
  const mapFlags = misplacedMapFlags(options, (kind ?? 'logistic') as HeadKind, context.embedding);
  if (mapFlags) throw new Error(mapFlags);
  const head = {
    kind: kind as HeadOptions['kind'],
    hidden,
    epochs: headEpochs,
    entropyWeight,
    labelSmoothing,
    output: headOutput as HeadOptions['output'],
    pooling: options.pooling as HeadOptions['pooling'],
    layers: options.layers,
    filters: options.filters,
    kernel: options.kernel as HeadOptions['kernel'],
    separable: options.separable,
    spatialDropout: options.spatialDropout,
  };
  const chosen = Object.fromEntries(Object.entries(head).filter(([, v]) => v !== undefined)) as HeadOptions;
  try {
    checkHeadOptions(chosen);
  } catch (error) {
    throw new Error(`${(error as Error).message} (check the --head flags)`);
  }
  return chosen;
}

/** A message naming the feature-map flags given to a head that ignores them, or undefined. */
function misplacedMapFlags(options: LabelOptions, kind: HeadKind, embedding: boolean): string | undefined {
  const convnetOnly = {
    '--layers': options.layers,
    '--filters': options.filters,
    '--kernel': options.kernel,
    '--separable': options.separable,
    '--spatial-dropout': options.spatialDropout,
  };
  const given = Object.keys(convnetOnly).filter((flag) => convnetOnly[flag as keyof typeof convnetOnly] !== undefined);
  if (kind !== 'convnet' && given.length > 0) return `${given.join(', ')} only apply to --head convnet`;
  if (options.pooling !== undefined && !MAP_HEAD_KINDS.includes(kind))
    return '--pooling applies to --head pool or convnet (heads on feature maps)';
  if (embedding && MAP_HEAD_KINDS.includes(kind) && !options.featureMaps && !options.embeddings)
    return `--head ${kind} trains on feature maps: add --feature-maps (or --embeddings <hash> of imported rank-4 features)`;
  return undefined;
}

/** Images registered per request (the label store takes at most 100 000). */
const IMAGES_PER_REQUEST = 10_000;

/** A queue ordering the workflow accepts: QUERY_SORTS, or a per-class sort of the labeler such as 'maxent: cat'. */
function checkSort(sort: string | undefined): void {
  if (sort === undefined || (QUERY_SORTS as readonly string[]).includes(sort)) return;
  if (CLASS_SORTS.some((kind) => sort.startsWith(`${kind}: `) && sort.length > kind.length + 2)) return;
  throw new Error(
    `--sort ${JSON.stringify(sort)} is not a queue ordering; use one of: ${QUERY_SORTS.join(', ')}, or ${CLASS_SORTS.map((k) => `'${k}: <class>'`).join(', ')}`,
  );
}

function parseClasses(text: string | undefined): string[] {
  if (text === undefined) return [];
  const names = text.split(',').map((c) => c.trim());
  if (names.some((c) => c === ''))
    throw new Error(
      `--classes ${JSON.stringify(text)} has an empty name; give names separated by commas: --classes cat,dog`,
    );
  return [...new Set(names)];
}

/** The project's image root as the tracker stores it: an absolute folder or s3://bucket/prefix, no trailing slash. */
function projectRoot(images: string): string {
  const where = parseLocation(images);
  if (where.kind === 'local') return resolve(where.path);
  const prefix = where.prefix.replace(/^\/+|\/+$/g, '');
  return prefix ? `s3://${where.bucket}/${prefix}` : `s3://${where.bucket}`;
}

async function embedImages(
  client: Client,
  settings: Settings,
  project: string,
  source: string,
  options: LabelOptions,
) {
  const store = openStorage(settings.store, settings.s3);
  if (options.run && !(await store.exists(modelKey(options.run))))
    throw new Error(
      `--run ${options.run}: no exported model at ${modelKey(options.run)} in the store ${settings.store}. Check the run id with \`patchwork runs\`; a pretraining run exports its model when it finishes.`,
    );
  const model = options.run
    ? { run: options.run }
    : { path: modelLocation(options.model!) };
  const workflowId = `embed-${project}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const handle = await client.workflow.start(embedWorkflow, {
    taskQueue: TASK_QUEUES.io,
    workflowId,
    args: [
      {
        source,
        model,
        projectorLimit: 0,
        ...(options.featureMaps ? { featureMaps: true } : {}),
      },
    ],
  });
  const result: EmbedResult | undefined = await followWithBar({
    format: 'embed |{bar}| {value}/{total} {phase}',
    result: () => handle.result(),
    poll: () => handle.query(embedProgressQuery),
    position: (p) => ({ value: p.embedded + p.skipped, total: p.total, payload: { phase: p.phase } }),
    runId: workflowId,
    attachedMessage: `embedding the images of ${project} (${workflowId})`,
    reattachCommand: `patchwork label ${project} with the same flags once ${workflowId} has finished`,
  });
  if (result === undefined) return undefined;
  console.log(
    `embedded ${result.embedded} new images (${result.alreadyDone} already were, ${result.skipped} could not be read), model hash ${result.modelHash}`,
  );
  const listed = (await store.get(sourceKeysKey(workflowId))).toString('utf8');
  return { modelHash: result.modelHash, keys: listed === '' ? [] : listed.split('\n') };
}

/** The keys of embeddings already in the store (e.g. imported from .npy), to label without embedding. */
async function storedEmbeddings(settings: Settings, hash: string) {
  const store = openStorage(settings.store, settings.s3);
  const parts = await listParts(store, hash);
  if (parts.length === 0)
    throw new Error(
      `--embeddings ${hash}: nothing under ${embeddingsPrefix(hash)}/ in the store ${settings.store}; import features with \`patchwork embed import\` or embed with --run/--model`,
    );
  const keys: string[] = [];
  for (const part of parts) keys.push(...(await readPartKeys(store, hash, part)).keys);
  console.log(`using the stored embeddings ${hash}: ${keys.length} images in ${parts.length} parts`);
  return { modelHash: hash, keys };
}

async function ensureProject(
  labels: LabelStoreClient,
  project: string,
  images: string,
  keys: string[],
  classes: string[],
) {
  const { projects } = await labels.projects();
  if (!projects.some((p) => p.id === project)) {
    const root = projectRoot(images);
    await labels.createProject({ id: project, root });
    console.log(`created project ${project} (images under ${root})`);
  }
  let added = 0;
  for (let start = 0; start < keys.length; start += IMAGES_PER_REQUEST) {
    added += await labels.addImages(
      project,
      keys.slice(start, start + IMAGES_PER_REQUEST).map((key) => ({ key })),
    );
  }
  const existing = await labels.classes(project);
  for (const name of classes) {
    const known = existing.find((c) => c.name === name);
    if (!known) await labels.addClass(project, name);
    else if (known.retired)
      console.log(`note: class ${name} is retired; restore it in the labeler to train it again`);
  }
  const total = (await labels.classes(project)).length;
  console.log(`project ${project}: ${keys.length} images (${added} new), ${total} classes`);
  if (total === 0)
    console.log('note: the project has no classes yet: add them with --classes a,b,c or in the labeler');
}

function describeStatus(workflowId: string, s: ActiveLearningStatus): string[] {
  const lines = [
    `${workflowId}: ${s.phase}, ${s.rounds} round${s.rounds === 1 ? '' : 's'} done, ${s.labelled} label cells set` +
      ` (a round starts every ${s.minNewLabels} new labels, or on \`patchwork retrain ${s.project}\`; queue by ${s.sort})`,
  ];
  if (s.last) {
    const auc = s.last.meanAuc === null ? 'n/a' : s.last.meanAuc.toFixed(3);
    lines.push(
      `  last round ${s.last.round}: ${s.last.labelled} labels, mean AUC ${auc} (${s.last.evaluatedOn} images), queue of ${s.last.queueSize}`,
    );
    if (s.last.queueHead.length > 0) lines.push(`  queue starts: ${s.last.queueHead.slice(0, 5).join(', ')}`);
    if (s.last.predictionsUpdated === false)
      lines.push(`  round ${s.last.round} only fitted the head (asked not to update predictions); AUC and queue are the round before's`);
  }
  if (s.head && Object.keys(s.head).length > 0) lines.push(`  head: ${JSON.stringify(s.head)}`);
  if (s.lastError) lines.push(`  last round could not run: ${s.lastError}`);
  return lines;
}

async function loopHandle(client: Client, project: string) {
  const workflowId = activeLearningWorkflowId(project);
  const handle = client.workflow.getHandle(workflowId);
  try {
    const { status } = await handle.describe();
    if (status.name === 'RUNNING') return handle;
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
  throw new Error(
    `no active-learning loop is running for project ${project}: start it with \`patchwork label ${project} --images <dir|s3://...> --run <pretraining run>\``,
  );
}

/**
 * Where an earlier, closed loop of the project stopped: a new loop reuses the workflow id (the tracker run and the round
 * folders), so it continues the round numbers instead of writing round 1 again.
 */
async function earlierRounds(client: Client, workflowId: string): Promise<ActiveLearningCarried | undefined> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    if ((await handle.describe()).status.name === 'RUNNING') return undefined;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
  const last = await handle.query(activeLearningStatusQuery).catch(() => undefined);
  if (!last || last.rounds === 0) return undefined;
  return {
    rounds: last.rounds,
    labelledAtLastRound: last.last?.labelled ?? 0,
    retrainRequested: false,
    stopRequested: false,
    last: last.last,
  };
}

export async function labelCommand(project: string, options: LabelOptions): Promise<void> {
  checkProject(project);
  const settings = loadSettings();
  if (options.status) {
    const handle = await loopHandle(await connectClient(settings), project);
    for (const line of describeStatus(handle.workflowId, await handle.query(activeLearningStatusQuery)))
      console.log(line);
    return;
  }
  if (!options.images) throw new Error('--images <dir|s3://bucket/prefix> is required: the images to label');
  if ([options.run, options.model, options.embeddings].filter((v) => v !== undefined).length !== 1)
    throw new Error(
      'give exactly one of --run <pretraining run id>, --model <model.json path or URL> (the feature extractor) or --embeddings <hash> (features already stored)',
    );
  if (options.embeddings && options.featureMaps)
    throw new Error('--feature-maps asks to embed; with --embeddings <hash> nothing is embedded, so drop one of them');
  const classes = parseClasses(options.classes);
  checkSort(options.sort);
  const head = headOptions(options);
  const location = parseLocation(options.images);
  const source = location.kind === 'local' ? resolve(location.path) : options.images;
  if (location.kind === 'local' && !existsSync(source))
    throw new Error(
      `--images ${options.images}: no such folder (${source}); give a folder or s3://bucket/prefix`,
    );

  const labels = await LabelStoreClient.connect(settings);
  const client = await connectClient(settings);
  const embedded = options.embeddings
    ? await storedEmbeddings(settings, options.embeddings)
    : await embedImages(client, settings, project, source, options);
  if (!embedded) return;
  await ensureProject(labels, project, options.images, embedded.keys, classes);

  const workflowId = activeLearningWorkflowId(project);
  const carried = await earlierRounds(client, workflowId);
  try {
    await client.workflow.start(activeLearningWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId,
      args: [
        {
          project,
          modelHash: embedded.modelHash,
          minNewLabels: options.every,
          queueSize: options.queueSize,
          sort: options.sort,
          head,
          carried,
        },
      ],
    });
    console.log(`started ${workflowId}${carried ? `, continuing after round ${carried.rounds}` : ''}`);
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    const running = await client.workflow
      .getHandle(workflowId)
      .query(activeLearningStatusQuery)
      .catch(() => undefined);
    console.log(`attached to ${workflowId}, already running`);
    if (running?.modelHash !== undefined && running.modelHash !== embedded.modelHash)
      console.log(
        `note: it trains on the embeddings ${running.modelHash}, not ${embedded.modelHash}; stop it with \`patchwork stop ${workflowId}\` and run this again to switch`,
      );
  }
  try {
    const status = await client.workflow.getHandle(workflowId).query(activeLearningStatusQuery);
    for (const line of describeStatus(workflowId, status)) console.log(line);
  } catch (error) {
    console.log(
      `${workflowId}: no worker answered yet (${(error as Error).message}); is \`patchwork up\` running?`,
    );
  }
  console.log(
    `label at ${labels.url}/projects/${project}/label?token=${encodeURIComponent(settings.tracker.token!)}&labeler=${encodeURIComponent(labeler())}`,
  );
  console.log('  (open it once: the token becomes a cookie and leaves the address)');
}

function labeler(): string {
  const name = (process.env.USER ?? 'web').replace(/[^A-Za-z0-9_.@-]/g, '').slice(0, 40);
  return name === '' ? 'web' : name;
}

export async function retrainCommand(project: string, options: LabelOptions & { fitOnly?: boolean } = {}): Promise<void> {
  checkProject(project);
  const request: RetrainRequest = {};
  const flags = Object.keys(options).filter((name) => name !== 'fitOnly');
  if (options.head !== undefined) request.head = headOptions(options, { embedding: false });
  else if (flags.length > 0)
    throw new Error(
      `${flags.map((f) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} need --head <kind>: retrain replaces the loop's head settings with the ones given`,
    );
  if (options.fitOnly) request.updatePredictions = false;
  const handle = await loopHandle(await connectClient(loadSettings()), project);
  await handle.signal(retrainSignal, request);
  const what = request.head ? ` with the head ${JSON.stringify(request.head)} (for later rounds too)` : '';
  console.log(`${handle.workflowId}: a round starts now${what} (it needs at least one 0 and one 1 label)`);
}
