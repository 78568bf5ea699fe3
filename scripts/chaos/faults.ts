// Faults for the chaos run: SIGKILL one process that `patchwork up` started, picked by a seeded generator.
import { readFileSync } from 'node:fs';
import { servicesFilePath } from '../../config/settings.ts';
import { readPlan } from '../../cli/services/spec.ts';
import { processAlive, readSupervisorState } from '../../cli/services/supervisor-state.ts';

export const faultKinds = ['worker', 'tracker', 's3', 'temporal'] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface Fault {
  at: string;
  kind: FaultKind;
  service: string;
  pid: number;
}

interface Recorded {
  temporal: { pid?: number };
  s3?: { pid?: number };
  tracker: { pid?: number };
  workers: { queue: string; pid: number }[];
}

/**
 * Kills one service of the kind with SIGKILL; undefined when none of that kind was recorded running. Worker kills
 * take the queues in turn (`workerKills` so far), so both the training and the orchestrating worker are hit.
 */
export function injectFault(home: string, kind: FaultKind, workerKills: number): Fault | undefined {
  const record = JSON.parse(readFileSync(servicesFilePath(home), 'utf8')) as Recorded;
  let service: string = kind;
  let pid: number | undefined;
  if (kind === 'worker') {
    const worker = record.workers[workerKills % record.workers.length]!;
    service = `worker ${worker.queue}`;
    pid = worker.pid;
  } else if (kind === 'tracker') pid = record.tracker.pid;
  else if (kind === 's3') pid = record.s3?.pid;
  else pid = record.temporal.pid;
  if (!pid || !processAlive(pid)) return undefined;
  process.kill(pid, 'SIGKILL');
  return { at: new Date().toISOString(), kind, service, pid };
}

/** True once the supervisor reports every planned service up again, false at the deadline. */
export async function waitForStackUp(home: string, timeoutMs: number): Promise<boolean> {
  const names = (readPlan(home)?.services ?? []).map((s) => s.name);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const state = readSupervisorState(home);
    if (state && names.every((name) => state.services[name]?.state === 'up' && processAlive(state.services[name]?.pid))) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

export function restartCounts(home: string): Record<string, number> {
  const state = readSupervisorState(home);
  return Object.fromEntries(Object.entries(state?.services ?? {}).map(([name, s]) => [name, s.restarts]));
}
