// Ingest API for workers: create/resume a run, log batches, finish; plus read-only run listings.
//   POST /api/runs                    {run, workflowId?, startStep?, hparams?}   -> StartRunResponse
//   POST /api/runs/:run/batches       {batchId, items: [...]}                      -> BatchResponse
//   POST /api/runs/:run/finish        {status, step?}                              -> the run
//   POST /api/runs/:run/model         {key, sha256, bytes, step}                   -> the run (its trained model)
//   POST /api/runs/:run/projector     {name, shape, values, metadata?, sprite?}    -> {points}
//   GET  /api/runs, GET /api/runs/:run
// Writes need the bearer token (checked before the body is read) and are size-limited (413).
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { RunRegistry } from '../db/registry.ts';
import type { RunSessions } from '../runs/sessions.ts';
import {
  batchSchema,
  finishRunSchema,
  projectorSchema,
  registerModelSchema,
  runIdSchema,
  startRunSchema,
} from '../../contracts/tracker-runs.ts';
import { requireToken } from './auth.ts';
import { parseJsonBody, parseParam } from './validate.ts';

export interface RunsApiOptions {
  token: string;
  sessions: RunSessions;
  registry: RunRegistry;
  /** Largest accepted request body in bytes; default 32 MiB. */
  maxBodyBytes?: number;
}

export function runsApi(options: RunsApiOptions): Hono {
  const { sessions, registry } = options;
  const maxBytes = options.maxBodyBytes ?? 32 << 20;
  const app = new Hono();
  const auth = requireToken(options.token);
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      c.json({ error: `request body is larger than ${maxBytes} bytes; split the batch into smaller ones` }, 413),
  });
  app.on('POST', ['/', '/*'], auth, limit);

  app.post('/', async (c) => c.json(await sessions.start(await parseJsonBody(c, startRunSchema))));

  app.post('/:run/batches', async (c) => {
    const run = parseParam(runIdSchema, c.req.param('run'), 'run');
    return c.json(await sessions.logBatch(run, await parseJsonBody(c, batchSchema)));
  });

  app.post('/:run/finish', async (c) => {
    const run = parseParam(runIdSchema, c.req.param('run'), 'run');
    return c.json(await sessions.finish(run, await parseJsonBody(c, finishRunSchema)));
  });

  app.post('/:run/model', async (c) => {
    const run = parseParam(runIdSchema, c.req.param('run'), 'run');
    return c.json(await sessions.registerModel(run, await parseJsonBody(c, registerModelSchema)));
  });

  app.post('/:run/projector', async (c) => {
    const run = parseParam(runIdSchema, c.req.param('run'), 'run');
    return c.json(await sessions.writeProjector(run, await parseJsonBody(c, projectorSchema)));
  });

  app.get('/', (c) => c.json(registry.list()));

  app.get('/:run', (c) => {
    const id = parseParam(runIdSchema, c.req.param('run'), 'run');
    const run = registry.get(id);
    if (!run) return c.json({ error: `run "${id}" is not registered` }, 404);
    return c.json({ ...run, tags: registry.tags(id) });
  });
  return app;
}
