// Starting, waiting on and stopping the supervisor process from the CLI (`patchwork up`, `patchwork down`).
import { join } from 'node:path';
import { repoRoot } from './binaries.ts';
import { startProcess, tailOfLog } from './process.ts';
import type { ServiceSpec } from './spec.ts';
import { processRuns, readSupervisorState, recordedSupervisor, supervisorLogPath } from './supervisor-state.ts';

const supervisorMain = join(repoRoot, 'cli', 'services', 'supervisor-main.ts');
const supervisorArgs = (home: string) => ['--import', 'tsx', supervisorMain, home];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function launchSupervisor(home: string): number {
  const supervisor = startProcess({
    name: 'supervisor',
    command: process.execPath,
    args: supervisorArgs(home),
    cwd: repoRoot,
    logFile: supervisorLogPath(home),
    detached: true,
  });
  return supervisor.pid;
}

/** The recorded supervisor's pid while that process still runs the supervisor. */
export function runningSupervisor(home: string): number | undefined {
  const pid = recordedSupervisor(home)?.pid;
  return processRuns(pid, process.execPath, [supervisorMain]) ? pid : undefined;
}

export async function waitForExit(pid: number, graceMs: number): Promise<boolean> {
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!processRuns(pid, process.execPath, [])) return true;
    await sleep(100);
  }
  return !processRuns(pid, process.execPath, []);
}

/** Stops the supervisor (not the services): first, so it does not restart what is being stopped. */
export async function stopSupervisor(home: string): Promise<number | undefined> {
  const pid = runningSupervisor(home);
  if (!pid) return undefined;
  process.kill(pid, 'SIGTERM');
  if (!(await waitForExit(pid, 10_000))) {
    process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5_000);
  }
  return pid;
}

export class StackStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StackStartError';
  }
}

/**
 * Waits until the supervisor `pid` reports every service of the plan up. Throws with the reason (and the log tail)
 * when one fails to start, the supervisor gives up on one, or the supervisor itself exits.
 */
export async function waitForStack(home: string, pid: number, specs: ServiceSpec[], onUp: (name: string) => void): Promise<void> {
  const deadline = Date.now() + specs.reduce((sum, spec) => sum + spec.readyTimeoutMs, 60_000);
  const announced = new Set<string>();
  while (Date.now() < deadline) {
    const state = readSupervisorState(home);
    if (state?.pid === pid) {
      for (const spec of specs) {
        const status = state.services[spec.name];
        if (status?.state === 'up' && !announced.has(spec.name)) {
          announced.add(spec.name);
          onUp(spec.name);
        }
        if (status?.state === 'failed' || status?.state === 'gave-up') {
          throw new StackStartError(status.error ?? `${spec.name} did not start; see ${spec.logFile}`);
        }
      }
      if (announced.size === specs.length) return;
    }
    if (!processRuns(pid, process.execPath, [])) {
      throw new StackStartError(`the supervisor (pid ${pid}) exited. Last lines of ${supervisorLogPath(home)}:\n${tailOfLog(supervisorLogPath(home))}`);
    }
    await sleep(200);
  }
  throw new StackStartError(`the services were not all up in time; see ${supervisorLogPath(home)} and the logs next to it`);
}
