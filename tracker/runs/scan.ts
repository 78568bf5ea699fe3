// What a run directory already holds: the last step per tag across its event files, with SessionLog START applied
// the way TensorBoard applies it (a START at step S drops every point at step >= S). Used to continue a run after
// the tracker restarted, so a retried batch never writes a (tag, step) twice.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readEventFile } from '../../tensorboard-format/index.ts';

export function eventFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .filter((n) => n.includes('tfevents'))
    .sort()
    .map((n) => join(dir, n));
}

export function applyStart(lastStep: Map<string, number>, startStep: number): void {
  for (const [tag, step] of lastStep) {
    if (step < startStep) continue;
    if (startStep === 0) lastStep.delete(tag);
    else lastStep.set(tag, startStep - 1);
  }
}

/** Last step per tag; a half-written trailing record (a killed writer) counts as not written. */
export async function scanLastSteps(dir: string): Promise<Map<string, number>> {
  const lastStep = new Map<string, number>();
  for (const file of eventFiles(dir)) {
    const { events } = await readEventFile(file);
    for (const event of events) {
      if (event.session_log?.status === 'START') applyStart(lastStep, event.step);
      for (const value of event.summary?.value ?? []) {
        lastStep.set(value.tag, Math.max(lastStep.get(value.tag) ?? -1, event.step));
      }
    }
  }
  return lastStep;
}
