// The project's labels as CSV, in the original's layout (csv.ts): GET /:p/export.csv and POST /:p/import.csv with the
// file as the body (text/csv); the import answers with a summary of what changed.
import { Hono } from 'hono';
import { exportCsv, importCsv } from '../csv.ts';
import type { LabelsContext, LabelsEnv } from './context.ts';

export function csvRoutes(ctx: LabelsContext) {
  const { store } = ctx;
  return new Hono<LabelsEnv>()
    .get('/:project/export.csv', (c) => {
      const p = c.var.project;
      c.header('Content-Disposition', `attachment; filename="${p.id}-labels.csv"`);
      return c.body(exportCsv(store, p.id), 200, { 'Content-Type': 'text/csv; charset=utf-8' });
    })
    .post('/:project/import.csv', async (c) =>
      c.json(importCsv(store, c.var.project.id, await c.req.text(), c.var.writer)),
    );
}
