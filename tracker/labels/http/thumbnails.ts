// Thumbnails of a project's images (GET /:p/images/<key>?size=256, JPEG, cached on disk) and the labeler's own
// scripts and styles (GET /_static/<file>).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Hono } from 'hono';
import { checkImageKey } from '../store.ts';
import { thumbnail } from '../thumbs.ts';
import type { LabelsContext, LabelsEnv } from './context.ts';
import { mapStaticFiles } from './map-static.ts';
import { thumbQuery } from './schemas.ts';
import { httpError, valid } from './validate.ts';

const require = createRequire(import.meta.url);
const staticFiles: Record<string, { type: string; body: string }> = {
  'htmx.min.js': {
    type: 'text/javascript',
    body: readFileSync(require.resolve('htmx.org/dist/htmx.min.js'), 'utf8'),
  },
  'labeler.js': {
    type: 'text/javascript',
    body: readFileSync(new URL('../static/labeler.js', import.meta.url), 'utf8'),
  },
  'train.js': {
    type: 'text/javascript',
    body: readFileSync(new URL('../static/train.js', import.meta.url), 'utf8'),
  },
  'labeler.css': {
    type: 'text/css',
    body: readFileSync(new URL('../static/labeler.css', import.meta.url), 'utf8'),
  },
  ...mapStaticFiles(),
};

export function labelerStatic() {
  return new Hono().get('/:file', (c) => {
    const f = staticFiles[c.req.param('file')];
    if (!f) return c.text('not found', 404);
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(f.body, 200, { 'Content-Type': `${f.type}; charset=utf-8` });
  });
}

export function thumbnails(ctx: LabelsContext) {
  const { store, sources } = ctx;
  return new Hono<LabelsEnv>().get('/:project/images/:key{.+}', valid('query', thumbQuery), async (c) => {
    const p = c.var.project;
    const { size } = c.req.valid('query');
    let key: string;
    try {
      key = checkImageKey(c.req.param('key'));
    } catch (error) {
      throw httpError(400, (error as Error).message);
    }
    const row = store.rows(p.id, [key])[0];
    if (!row) throw httpError(404, `no image ${JSON.stringify(key)} in project ${p.id}`);
    const jpeg = await thumbnail(await sources.image(p.root, row.viewKey ?? key), size, ctx.deps.cacheDir);
    c.header('Cache-Control', 'private, max-age=600');
    return c.body(new Uint8Array(jpeg), 200, { 'Content-Type': 'image/jpeg' });
  });
}
