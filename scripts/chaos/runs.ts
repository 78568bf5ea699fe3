// Pretraining runs for the chaos run, started and followed through a Temporal server that may be restarting, and
// the checks on what they left: one loss value per step in TensorBoard, and every checkpoint loading.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Settings } from '../../config/settings.ts';
import { connectClient } from '../../cli/temporal-client.ts';
import { pretrainWorkflow } from '../../workflows/index.ts';
import { TASK_QUEUES } from '../../contracts/task-queues.ts';
import type { PretrainInput } from '../../contracts/pretrain.ts';
import { openStorage } from '../../storage/index.ts';
import { checkpointPrefix } from '../../storage/layout.ts';
import { loadCheckpointAt, loadLatestCheckpoint } from '../../ml/checkpoint.ts';
import { initBackend } from '../../ml/backend.ts';
import { readEventFile, scalarSeries } from '../../tensorboard-format/index.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Retries `call` while Temporal (or the connection to it) is down, up to the deadline. */
async function retrying<T>(what: string, call: () => Promise<T>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: ${(error as Error).message}`, { cause: error });
      await pause(1_000);
    }
  }
}

export class RunFollower {
  private client?: Client;
  constructor(private readonly settings: Settings) {}

  private async connected(): Promise<Client> {
    this.client ??= await connectClient(this.settings);
    return this.client;
  }

  async start(workflowId: string, input: PretrainInput): Promise<void> {
    await retrying(`start ${workflowId}`, async () => {
      try {
        await (await this.connected()).workflow.start(pretrainWorkflow, { taskQueue: TASK_QUEUES.io, workflowId, args: [input] });
      } catch (error) {
        // A start that reached the server before its answer was lost.
        if ((error as Error).name !== 'WorkflowExecutionAlreadyStartedError') throw error;
      }
    });
  }

  /** The run's final status name (COMPLETED, FAILED, ...) and its steps when it completed. */
  async waitForEnd(workflowId: string, timeoutMs: number): Promise<{ status: string; steps?: number }> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const status = await retrying(`describe ${workflowId}`, async () => {
        const handle = (await this.connected()).workflow.getHandle(workflowId);
        return (await handle.describe()).status.name;
      });
      if (status === 'COMPLETED') {
        const result = await retrying(`result of ${workflowId}`, async () => (await this.connected()).workflow.getHandle<typeof pretrainWorkflow>(workflowId).result());
        return { status, steps: result.steps };
      }
      if (status !== 'RUNNING') return { status };
      await pause(1_000);
    }
    return { status: 'TIMED_OUT_WAITING' };
  }

  async close(): Promise<void> {
    await this.client?.connection.close();
  }
}

/** Every step 0..steps-1 exactly once for `tag` across the run's event files; one line per step lost or doubled. */
export async function checkScalars(home: string, runId: string, tag: string, steps: number): Promise<string[]> {
  const runDir = join(home, 'tensorboard', runId);
  const files = (await readdir(runDir)).filter((name) => name.includes('tfevents'));
  const seen = new Map<number, number>();
  for (const file of files) {
    const { events } = await readEventFile(join(runDir, file));
    for (const point of scalarSeries(events).get(tag) ?? []) seen.set(point.step, (seen.get(point.step) ?? 0) + 1);
  }
  const problems: string[] = [];
  for (let step = 0; step < steps; step++) {
    const count = seen.get(step) ?? 0;
    if (count !== 1) problems.push(`${runId} ${tag} step ${step}: ${count} values`);
  }
  for (const step of seen.keys()) if (step < 0 || step >= steps) problems.push(`${runId} ${tag} step ${step}: beyond the run's ${steps} steps`);
  return problems;
}

export interface CheckpointReport {
  /** Folders that load and pass their size and sha256 checks. */
  loaded: number;
  /** LATEST does not load, or names another step than the run's last: a broken chain. */
  lost: string[];
  /** Step folders that do not load: left by a save that a kill cut short and LATEST never named. */
  incomplete: string[];
}

/** LATEST must load at the run's last step; every other step folder is loaded too, to tell the two cases apart. */
export async function checkCheckpoints(settings: Settings, runId: string, steps: number): Promise<CheckpointReport> {
  await initBackend({ purpose: 'infer' });
  const store = openStorage(settings.store, settings.s3);
  const prefix = checkpointPrefix(runId);
  const report: CheckpointReport = { loaded: 0, lost: [], incomplete: [] };
  const latest = await loadLatestCheckpoint(store, prefix).catch((error: Error) => error);
  if (latest instanceof Error) report.lost.push(`${runId} LATEST: ${latest.message}`);
  else if (latest?.step !== steps) report.lost.push(`${runId} LATEST is at step ${latest?.step}, the run ended at ${steps}`);
  const folders = new Set<string>();
  for await (const info of store.list(`${prefix}/`)) {
    const match = info.key.slice(prefix.length + 1).match(/^(\d+)\//);
    if (match) folders.add(match[1]!);
  }
  for (const folder of [...folders].sort((a, b) => Number(a) - Number(b))) {
    try {
      const checkpoint = await loadCheckpointAt(store, `${prefix}/${folder}`);
      for (const model of Object.values(checkpoint.models)) model.dispose();
      report.loaded += 1;
    } catch (error) {
      report.incomplete.push(`${runId} checkpoint ${folder}: ${(error as Error).message}`);
    }
  }
  return report;
}
