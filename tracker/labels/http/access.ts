// Middleware of the labels routers. Writes are authorised before their body is read, and bodies are counted while
// they stream in; routes under /:project/ find their project first (404 naming it when there is none).
import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import { writer } from '../auth.ts';
import { PROJECT_ID } from '../store.ts';
import type { LabelsContext, LabelsEnv } from './context.ts';
import { httpError } from './validate.ts';

const limited = (maxSize: number, fix: string) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw httpError(413, `request body is larger than ${maxSize} bytes; ${fix}`);
    },
  });

/** For POST and PUT: the writer (bearer token, or a labeler session with htmx), then the body size limit. */
export function writeAccess(ctx: LabelsContext) {
  const jsonLimit = limited(ctx.deps.maxBodyBytes ?? 32 << 20, 'send the items in several smaller requests');
  const csvLimit = limited(ctx.deps.maxCsvBytes ?? 64 << 20, 'split the CSV into several files and import each');
  return createMiddleware<LabelsEnv>(async (c, next) => {
    if (c.req.method !== 'POST' && c.req.method !== 'PUT') return next();
    const who = writer(c, ctx.deps.token, ctx.signer);
    if (!who)
      throw httpError(401, 'writes need the bearer token (Authorization: Bearer …), or open the labeler with ?token=…');
    c.set('writer', who);
    c.set('writerHasToken', c.req.header('authorization') !== undefined);
    return (c.req.path.endsWith('/import.csv') ? csvLimit : jsonLimit)(c, next);
  });
}

/** Sets the route's project, or answers 404 for an id that names none. */
export function projectParam(ctx: LabelsContext) {
  return createMiddleware<LabelsEnv>(async (c, next) => {
    const id = c.req.param('project') ?? '';
    if (!PROJECT_ID.test(id)) throw httpError(404, `no project ${JSON.stringify(id)}`);
    c.set('project', ctx.store.project(id));
    await next();
  });
}
