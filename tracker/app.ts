import { Hono } from 'hono';

export interface TrackerOptions {
  /** Where event files are written: one sub-folder per run. */
  logDir: string;
  /** Bearer token that every write route requires. */
  token: string;
}

export function createTrackerApp(options: TrackerOptions): Hono {
  const app = new Hono();
  app.get('/health', (c) => c.json({ ok: true, service: 'patchwork-tracker', logDir: options.logDir }));
  return app;
}
