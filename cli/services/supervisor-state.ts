// The supervisor's view of each service (state, restarts, last exit), kept in <home>/supervisor.json for
// `patchwork status` and `patchwork up`; and the pid fields of services.json it keeps current across restarts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { servicesFilePath } from '../../config/settings.ts';
import { writeFileAtomically } from './atomic-file.ts';
import type { RecordSlot } from './spec.ts';

export const serviceStates = ['waiting', 'starting', 'up', 'backoff', 'gave-up', 'failed'] as const;
export type ServiceState = (typeof serviceStates)[number];

const serviceStatusSchema = z.object({
  pid: z.number().optional(),
  state: z.enum(serviceStates),
  restarts: z.number(),
  since: z.string(),
  lastExit: z.string().optional(),
  /** Why the service is failed or given up on, with where to look. */
  error: z.string().optional(),
  nextAttemptAt: z.string().optional(),
});
export type ServiceStatus = z.infer<typeof serviceStatusSchema>;

const supervisorStateSchema = z.object({
  pid: z.number(),
  startedAt: z.string(),
  services: z.record(serviceStatusSchema),
});
export type SupervisorState = z.infer<typeof supervisorStateSchema>;

export const supervisorStatePath = (home: string) => join(home, 'supervisor.json');
export const supervisorLogPath = (home: string) => join(home, 'logs', 'supervisor.log');

export function readSupervisorState(home: string): SupervisorState | undefined {
  try {
    const parsed = supervisorStateSchema.safeParse(JSON.parse(readFileSync(supervisorStatePath(home), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function writeSupervisorState(home: string, state: SupervisorState): void {
  writeFileAtomically(supervisorStatePath(home), JSON.stringify(state, null, 2));
}

type RawRecord = {
  temporal: { pid?: number };
  s3?: { pid?: number };
  tracker: { pid?: number };
  tensorboard?: { url: string; pid: number };
  workers: { queue: string; pid: number }[];
  supervisor?: { pid: number; log: string };
};

function readRawRecord(home: string): RawRecord | undefined {
  try {
    return JSON.parse(readFileSync(servicesFilePath(home), 'utf8')) as RawRecord;
  } catch {
    return undefined;
  }
}

/** The supervisor's pid as `patchwork up` recorded it (services.json keeps fields the settings schema ignores). */
export function recordedSupervisor(home: string): { pid: number; log: string } | undefined {
  return readRawRecord(home)?.supervisor;
}

export function recordSupervisor(home: string, supervisor: { pid: number; log: string } | undefined): void {
  const record = readRawRecord(home);
  if (!record) return;
  record.supervisor = supervisor;
  writeFileAtomically(servicesFilePath(home), JSON.stringify(record, null, 2));
}

/** Puts a (re)started service's pid where `patchwork down` and the tests look for it. */
export function recordPid(home: string, slot: RecordSlot, pid: number): void {
  const record = readRawRecord(home);
  if (!record) return;
  switch (slot.kind) {
    case 'temporal':
      record.temporal.pid = pid;
      break;
    case 's3':
      if (record.s3) record.s3.pid = pid;
      break;
    case 'tracker':
      record.tracker.pid = pid;
      break;
    case 'tensorboard':
      record.tensorboard = { url: slot.url, pid };
      break;
    case 'worker': {
      const worker = record.workers.find((w) => w.queue === slot.queue);
      if (worker) worker.pid = pid;
      else record.workers.push({ queue: slot.queue, pid });
      break;
    }
  }
  writeFileAtomically(servicesFilePath(home), JSON.stringify(record, null, 2));
}

/** The pid services.json holds for a slot, for a new supervisor to adopt a process that is still running. */
export function recordedPid(home: string, slot: RecordSlot): number | undefined {
  const record = readRawRecord(home);
  if (!record) return undefined;
  switch (slot.kind) {
    case 'temporal':
      return record.temporal.pid;
    case 's3':
      return record.s3?.pid;
    case 'tracker':
      return record.tracker.pid;
    case 'tensorboard':
      return record.tensorboard?.pid;
    case 'worker':
      return record.workers.find((w) => w.queue === slot.queue)?.pid;
  }
}

/** True while a process with this pid exists and is not a zombie waiting to be reaped. */
export function processAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

/**
 * Whether a live pid still runs the given command line: after a reboot or a long outage the recorded pid may belong
 * to something else, which must be neither adopted nor killed. A script started through its interpreter (TensorBoard)
 * shows the interpreter first, so the command and its arguments are looked for anywhere in the line. Without /proc the
 * pid alone decides.
 */
export function processRuns(pid: number | undefined, command: string, args: string[]): boolean {
  if (!processAlive(pid)) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes(command) && args.every((arg) => argv.includes(arg));
  } catch {
    return true;
  }
}
