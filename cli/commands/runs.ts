import { loadSettings } from '../../config/settings.ts';
import { connectClient } from '../temporal-client.ts';
import { pauseSignal, pretrainProgressQuery, resumeSignal, setLearningRateSignal, stopSignal } from '../../contracts/pretrain.ts';

const KIND: Record<string, string> = {
  ingestWorkflow: 'an ingest run',
  embedWorkflow: 'an embedding run',
  activeLearningWorkflow: 'a labeling loop',
};
const LISTED = ['pretrainWorkflow', 'ingestWorkflow', 'embedWorkflow', 'activeLearningWorkflow'];

/** The trained models the tracker has on record, by run; empty when the tracker cannot be reached. */
async function registeredModels(trackerUrl: string, token: string | undefined): Promise<Map<string, string>> {
  try {
    const response = await fetch(`${trackerUrl.replace(/\/+$/, '')}/api/runs`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(3000),
    });
    if (!response.ok) return new Map();
    const runs = (await response.json()) as { id: string; model?: { key: string } | null }[];
    return new Map(runs.filter((r) => r.model).map((r) => [r.id, r.model!.key]));
  } catch {
    return new Map();
  }
}

/** Lists runs (pretraining, ingest, embedding, labeling loops) with their Temporal status, progress and model. */
export async function runsCommand(options: { limit: number }): Promise<void> {
  const settings = loadSettings();
  const client = await connectClient(settings);
  const models = await registeredModels(settings.tracker.url, settings.tracker.token);
  let shown = 0;
  const query = LISTED.map((type) => `WorkflowType = '${type}'`).join(' OR ');
  for await (const run of client.workflow.list({ query })) {
    if (shown++ >= options.limit) break;
    let detail = '';
    if (run.type === 'pretrainWorkflow' && run.status.name === 'RUNNING') {
      const p = await client.workflow.getHandle(run.workflowId).query(pretrainProgressQuery).catch(() => undefined);
      if (p) detail = `${p.phase} step ${p.step}/${p.totalSteps} epoch ${p.epoch + 1}/${p.epochs}`;
    }
    const model = models.get(run.workflowId);
    if (model) detail = `${detail}${detail ? '  ' : ''}model ${model}`;
    console.log(`${run.workflowId.padEnd(44)} ${run.type.padEnd(22)} ${run.status.name.padEnd(11)} ${run.startTime.toISOString()} ${detail}`);
  }
  if (shown === 0) console.log('no runs yet');
}

type Control = 'pause' | 'resume' | 'stop';

export async function controlCommand(action: Control, runId: string): Promise<void> {
  const handle = (await connectClient(loadSettings())).workflow.getHandle(runId);
  const signal = { pause: pauseSignal, resume: resumeSignal, stop: stopSignal }[action];
  const { type } = await handle.describe();
  const stoppable = type === 'pretrainWorkflow' || type === 'activeLearningWorkflow';
  if (type !== 'pretrainWorkflow' && !(action === 'stop' && stoppable))
    throw new Error(
      `${runId} is ${KIND[type] ?? `a ${type}`}: ${action} works on pretraining runs` +
        (action === 'stop' ? ' and labeling loops' : '') +
        (stoppable ? ` (use \`patchwork stop ${runId}\` to end it)` : ''),
    );
  await handle.signal(signal);
  const stopping =
    type === 'pretrainWorkflow'
      ? 'stops at its next checkpoint and exports its model'
      : 'stops after its running step (a running round finishes first)';
  const when = { pause: 'pauses at its next checkpoint', resume: 'resumes', stop: stopping }[action];
  console.log(`${runId} ${when}`);
}

export async function setLearningRateCommand(runId: string, value: string): Promise<void> {
  const lr = Number(value);
  if (!Number.isFinite(lr) || lr <= 0) throw new Error(`learning rate ${value} must be a positive number`);
  await (await connectClient(loadSettings())).workflow.getHandle(runId).signal(setLearningRateSignal, lr);
  console.log(`${runId} uses learning rate ${lr} from its next training activity`);
}
