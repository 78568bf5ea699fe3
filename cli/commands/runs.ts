import { loadSettings } from '../../schemas/settings.ts';
import { connectClient } from '../../worker/client.ts';
import { pauseSignal, pretrainProgressQuery, resumeSignal, setLearningRateSignal, stopSignal } from '../../workflows/api.ts';

/** Lists pretraining and ingest runs with their Temporal status, and progress for running pretraining runs. */
export async function runsCommand(options: { limit: number }): Promise<void> {
  const client = await connectClient(loadSettings());
  let shown = 0;
  for await (const run of client.workflow.list({ query: "WorkflowType = 'pretrainWorkflow' OR WorkflowType = 'ingestWorkflow'" })) {
    if (shown++ >= options.limit) break;
    let detail = '';
    if (run.type === 'pretrainWorkflow' && run.status.name === 'RUNNING') {
      const p = await client.workflow.getHandle(run.workflowId).query(pretrainProgressQuery).catch(() => undefined);
      if (p) detail = `${p.phase} step ${p.step}/${p.totalSteps} epoch ${p.epoch + 1}/${p.epochs}`;
    }
    console.log(`${run.workflowId.padEnd(40)} ${run.type.padEnd(18)} ${run.status.name.padEnd(11)} ${run.startTime.toISOString()} ${detail}`);
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
      `${runId} is a ${type}: ${action} works on pretraining runs` +
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
