// GET /:p/rounds/:round[?vs=<earlier round>&workflow=<id>]: what changed since the earlier round (default: the one
// before), read from what both rounds stored in the runs store.
import { Hono } from 'hono';
import { z } from 'zod';
import { activeLearningWorkflowId } from '../../../contracts/active-learning.ts';
import { diffRounds, roundSnapshot } from '../../../ml/active/round-diff.ts';
import { StorageError } from '../../../storage/index.ts';
import { readStoredRound } from '../../../storage/rounds.ts';
import { RoundPage } from '../round-view.tsx';
import type { LabelsContext, LabelsEnv } from './context.ts';
import { CSP } from './page.tsx';
import { httpError, valid } from './validate.ts';

const roundNumber = z.coerce.number({ invalid_type_error: 'a round number' }).int().min(1, 'round numbers start at 1');
const roundParams = z.object({ project: z.string(), round: roundNumber });
const roundQuery = z.object({ vs: roundNumber.optional(), workflow: z.string().min(1).max(1000).optional() }).strict();

export function roundRoutes(ctx: LabelsContext) {
  return new Hono<LabelsEnv>().get('/:project/rounds/:round', valid('param', roundParams), valid('query', roundQuery), async (c) => {
    const project = c.var.project;
    const { round } = c.req.valid('param');
    const { vs = round - 1, workflow } = c.req.valid('query');
    if (vs < 1 || vs >= round) throw httpError(400, `vs: compare round ${round} with an earlier round (1 to ${round - 1})`);
    const runs = ctx.deps.runsStore;
    if (!runs) throw httpError(404, "this tracker cannot read the runs store: set PATCHWORK_STORE (and S3_*) where it runs");
    const runId = workflow ?? activeLearningWorkflowId(project.id);
    const read = async (n: number) => {
      try {
        return roundSnapshot(n, await readStoredRound(runs, runId, n));
      } catch (error) {
        if (error instanceof StorageError && error.code === 'NOT_FOUND')
          throw httpError(404, `project ${project.id} has no complete round ${n} in the runs store (run ${runId})`);
        throw error;
      }
    };
    const diff = diffRounds(await read(vs), await read(round));
    c.header('Content-Security-Policy', CSP);
    return c.html(<RoundPage project={project.id} title={project.name ?? project.id} diff={diff} />);
  });
}
