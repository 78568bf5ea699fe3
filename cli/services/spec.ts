// What the supervisor needs to start, probe and restart one service: everything is plain data, so `patchwork up`
// can write the plan to a file and a later supervisor (after a crash or a partial `up`) can read it back.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomically } from './atomic-file.ts';

const readinessSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('http'), url: z.string() }),
  z.object({ kind: z.literal('temporal'), address: z.string() }),
  /** A line the process prints once it is ready; `{pid}` is replaced by the process id. */
  z.object({ kind: z.literal('log'), text: z.string() }),
]);
export type Readiness = z.infer<typeof readinessSchema>;

/** Where a service's pid is kept in services.json, so other commands (`down`, tests) find the current process. */
const slotSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('temporal') }),
  z.object({ kind: z.literal('s3') }),
  z.object({ kind: z.literal('tracker') }),
  z.object({ kind: z.literal('tensorboard'), url: z.string() }),
  z.object({ kind: z.literal('worker'), queue: z.string() }),
]);
export type RecordSlot = z.infer<typeof slotSchema>;

export const serviceSpecSchema = z.object({
  name: z.string(),
  command: z.string(),
  args: z.array(z.string()),
  env: z.record(z.string()).optional(),
  cwd: z.string().optional(),
  logFile: z.string(),
  ready: readinessSchema,
  readyTimeoutMs: z.number(),
  /** Services that must answer before this one is (re)started. */
  dependsOn: z.array(z.string()),
  slot: slotSchema,
});
export type ServiceSpec = z.infer<typeof serviceSpecSchema>;

const planSchema = z.object({ services: z.array(serviceSpecSchema) });
export type SupervisorPlan = z.infer<typeof planSchema>;

export const planFilePath = (home: string) => join(home, 'supervisor-plan.json');

/** The plan holds the services' environments (tokens, S3 keys): readable by the owner only, like services.json. */
export function writePlan(home: string, plan: SupervisorPlan): void {
  writeFileAtomically(planFilePath(home), JSON.stringify(plan, null, 2));
}

export function readPlan(home: string): SupervisorPlan | undefined {
  let text: string;
  try {
    text = readFileSync(planFilePath(home), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = planSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
