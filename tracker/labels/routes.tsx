// labelsRouter: the labeler page, its htmx write endpoints, thumbnails, CSV import/export and a small JSON API, as
// small routers under one set of middleware. Mount with `app.route('/projects', labelsRouter(deps))` in an app whose
// onError is the tracker's (tracker/api/errors.ts). See auth.ts for the token scheme.
import { Hono } from 'hono';
import { projectParam, writeAccess } from './http/access.ts';
import { labelsContext, type LabelsDeps, type LabelsEnv } from './http/context.ts';
import { csvRoutes } from './http/csv-routes.ts';
import { labelerStatic, thumbnails } from './http/thumbnails.ts';
import { labelerPage } from './http/page.tsx';
import { mapRoutes } from './http/map-routes.tsx';
import { projectsApi } from './http/projects-api.ts';
import { roundRoutes } from './http/round-routes.tsx';
import { trainRoutes } from './http/train-routes.tsx';
import { labelWrites } from './http/writes.tsx';

export type { LabelsDeps };
export { THUMB_SIZES } from './http/schemas.ts';

export function labelsRouter(deps: LabelsDeps) {
  const ctx = labelsContext(deps);
  return (
    new Hono<LabelsEnv>()
      .use(writeAccess(ctx))
      // Before the project lookup: '_static' is no project.
      .route('/_static', labelerStatic())
      .use('/:project/*', projectParam(ctx))
      .route('/', projectsApi(ctx))
      .route('/', csvRoutes(ctx))
      .route('/', thumbnails(ctx))
      .route('/', labelerPage(ctx))
      .route('/', labelWrites(ctx))
      .route('/', mapRoutes(ctx))
      .route('/', roundRoutes(ctx))
      .route('/', trainRoutes(ctx))
  );
}

/** The routes' types, for the typed client (tracker-client/label-store.ts). */
export type LabelsApi = ReturnType<typeof labelsRouter>;
