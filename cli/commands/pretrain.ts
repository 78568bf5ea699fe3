import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkPretrainInputs } from './pretrain-checks.ts';
import { loadSettings } from '../../config/settings.ts';
import { connectClient } from '../temporal-client.ts';
import { parseLocation } from '../../storage/index.ts';
import { validatePretrainRequest } from '../../ml/methods/run-config.ts';
import { pretrainWorkflow } from '../../workflows/index.ts';
import { pretrainProgressQuery, type PretrainMethod, type PretrainResult } from '../../contracts/pretrain.ts';
import { TASK_QUEUES } from '../../contracts/task-queues.ts';
import { followWithBar } from '../progress.ts';
import { modelLocation } from '../model-location.ts';

interface PretrainOptions {
  images?: string;
  config?: string;
  labels?: string;
  testImages?: string;
  initModel?: string;
  /** commander's --no-embed sets this to false. */
  embed?: boolean;
  epochs: number;
  seed: number;
  id?: string;
  wait?: string;
  stepsPerActivity?: number;
  secondsPerActivity?: number;
}

function absolute(location: string): string {
  const parsed = parseLocation(location);
  return parsed.kind === 'local' ? resolve(parsed.path) : location;
}

function readConfig(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read --config ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`--config ${path} is not valid JSON: ${(error as Error).message}`);
  }
}

export async function pretrainCommand(method: string | undefined, options: PretrainOptions): Promise<void> {
  const settings = loadSettings();
  // Fail here, before anything connects or starts, with the field named.
  const config = options.wait ? {} : readConfig(options.config);
  if (!options.wait) {
    validatePretrainRequest({ method, config, epochs: options.epochs });
    if (!options.images) throw new Error('--images <folder|s3://bucket/prefix> is required');
    await checkPretrainInputs(settings, {
      images: absolute(options.images),
      labels: options.labels ? absolute(options.labels) : undefined,
      testImages: options.testImages ? absolute(options.testImages) : undefined,
      initialModel: options.initModel ? modelLocation(options.initModel) : undefined,
    });
  }
  const client = await connectClient(settings);
  let workflowId: string;
  if (options.wait) {
    workflowId = options.wait;
  } else {
    workflowId = options.id ?? `${method}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await client.workflow.start(pretrainWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId,
      args: [
        {
          method: method as PretrainMethod,
          images: absolute(options.images!),
          labels: options.labels ? absolute(options.labels) : undefined,
          testImages: options.testImages ? absolute(options.testImages) : undefined,
          initialModel: options.initModel ? modelLocation(options.initModel) : undefined,
          embed: options.embed !== false,
          config,
          epochs: options.epochs,
          seed: options.seed,
          stepsPerActivity: options.stepsPerActivity,
          secondsPerActivity: options.secondsPerActivity,
        },
      ],
    });
  }
  const handle = client.workflow.getHandle<typeof pretrainWorkflow>(workflowId);
  const result = await followWithBar({
    format: 'pretrain |{bar}| step {value}/{total}  epoch {epoch}  loss {loss}  {phase}  eta {eta_formatted}',
    result: () => handle.result(),
    poll: () => handle.query(pretrainProgressQuery),
    position: (p) => ({
      value: p.step,
      total: p.totalSteps,
      payload: { epoch: `${p.epoch + 1}/${p.epochs}`, loss: (p.losses.loss ?? Object.values(p.losses)[0] ?? NaN).toFixed(4), phase: p.phase },
    }),
    runId: workflowId,
    attachedMessage: `${options.wait ? 'following' : 'started'} ${workflowId}`,
    reattachCommand: `patchwork pretrain --wait ${workflowId}`,
  });
  if (result === undefined) return;
  printResult(result, settings.home);
}

function printResult(result: PretrainResult, home: string): void {
  console.log(`${result.runId}: ${result.stopped ? 'stopped' : 'finished'} after ${result.steps} steps (${result.epochs} epochs)`);
  for (const [tag, value] of Object.entries(result.lastMetrics)) console.log(`  ${tag.padEnd(34)} ${value.toFixed(4)}`);
  console.log(`  model: ${result.modelKey} in the store (registered with the tracker)`);
  if (result.embeddings) {
    console.log(`  embeddings: ${result.embeddings.prefix} (${result.embeddings.total} images, workflow ${result.embeddings.workflowId})`);
  }
  console.log(`  TensorBoard: patchwork tensorboard   (logs in ${home}/tensorboard/${result.runId})`);
}
