// htmx from the htmx.org package and the one CSS file; no frontend build.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

const require = createRequire(import.meta.url);

export function staticFiles(): Hono {
  const htmx = readFileSync(require.resolve('htmx.org/dist/htmx.min.js'));
  const css = readFileSync(fileURLToPath(new URL('../../ui/styles.css', import.meta.url)));
  const app = new Hono();
  const cache = { 'Cache-Control': 'public, max-age=3600' };
  app.get('/htmx.min.js', (c) => c.body(htmx, 200, { ...cache, 'Content-Type': 'text/javascript; charset=utf-8' }));
  app.get('/styles.css', (c) => c.body(css, 200, { ...cache, 'Content-Type': 'text/css; charset=utf-8' }));
  return app;
}
