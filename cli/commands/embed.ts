import { resolve } from 'node:path';
import { loadSettings } from '../../config/settings.ts';
import { connectClient } from '../temporal-client.ts';
import { parseLocation } from '../../storage/index.ts';
import { embedWorkflow } from '../../workflows/index.ts';
import { TASK_QUEUES } from '../../contracts/task-queues.ts';
import { embedProgressQuery } from '../../contracts/embed.ts';
import { followWithBar } from '../progress.ts';
import { modelLocation } from '../model-location.ts';

interface EmbedOptions {
  run?: string;
  model?: string;
  projectorLimit: number;
  projectorPooling: string;
  id?: string;
  featureMaps?: boolean;
  maxMapValues?: number;
}

/** Features for every image under a source with a pretraining run's model (or a user's), stored by model hash. */
export async function embedCommand(source: string, options: EmbedOptions): Promise<void> {
  if (!options.run === !options.model) throw new Error('give exactly one of --run <pretraining runId> or --model <model.json path or URL>');
  const projectorPooling = options.projectorPooling ?? 'max';
  if (projectorPooling !== 'max' && projectorPooling !== 'avg') throw new Error(`--projector-pooling must be max or avg, got ${projectorPooling}`);
  const location = parseLocation(source);
  const settings = loadSettings();
  const client = await connectClient(settings);
  const workflowId = options.id ?? `embed-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const model = options.run ? { run: options.run } : { path: modelLocation(options.model!) };
  const handle = await client.workflow.start(embedWorkflow, {
    taskQueue: TASK_QUEUES.io,
    workflowId,
    args: [
      {
        source: location.kind === 'local' ? resolve(location.path) : source,
        model,
        projectorLimit: options.projectorLimit,
        projectorPooling,
        ...(options.featureMaps ? { featureMaps: true, maxMapValues: options.maxMapValues } : {}),
      },
    ],
  });
  const result = await followWithBar({
    format: 'embed |{bar}| {value}/{total} {phase}',
    result: () => handle.result(),
    poll: () => handle.query(embedProgressQuery),
    position: (p) => ({ value: p.embedded + p.skipped, total: p.total, payload: { phase: p.phase } }),
    runId: workflowId,
    attachedMessage: `started ${workflowId}`,
    reattachCommand: `the Temporal UI (patchwork embed has no --wait yet)`,
  });
  if (result === undefined) return;
  const size = result.mapShape ? `feature maps ${result.mapShape.join(' x ')}` : `dim ${result.dim}`;
  console.log(`${result.runId}: ${result.embedded} images embedded (${result.alreadyDone} already were, ${result.skipped} skipped), ${size}`);
  console.log(`  stored under ${result.prefix} in the store (model hash ${result.modelHash})`);
  if (result.projectorDir) console.log(`  projector: ${result.projectorDir} (TensorBoard, Projector tab)`);
}
