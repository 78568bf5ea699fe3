// The tracker's HTTP app, composed from small routers behind one access policy (tracker/api/access.ts): every read
// needs the bearer token or a labeler session, except /health.
//   /health            liveness
//   /api/runs          ingest API for workers (bearer token on writes)      tracker/api/runs.ts
//   /runs              server-rendered run pages (htmx polling)             tracker/pages/runs.tsx
//   /static            htmx and styles                                      tracker/pages/static.ts
//   extra routers      e.g. the label store at /projects (tracker/main.ts mounts it)
import { Hono } from 'hono';
import { hostCheck, readAccess, securityHeaders } from './api/access.ts';
import { answerError } from './api/errors.ts';
import { runsApi } from './api/runs.ts';
import { openTrackerDb, type TrackerDb } from './db/index.ts';
import { RunRegistry } from './db/registry.ts';
import { DEFAULT_SESSION_TTL_MS, SessionSigner } from './labels/session.ts';
import { runPages } from './pages/runs.tsx';
import { staticFiles } from './pages/static.ts';
import { RunSessions } from './runs/sessions.ts';
import { TemporalStatus } from './temporal-status.ts';

export interface TrackerOptions {
  /** Where event files are written: one sub-folder per run. */
  logDir: string;
  /** Bearer token that every write route requires. */
  token: string;
  /** The SQLite database (default: an in-memory one, for tests that do not need persistence). */
  db?: TrackerDb;
  /** Temporal frontend host:port for live workflow status on the run pages; omitted = registry status only. */
  temporalAddress?: string;
  temporalNamespace?: string;
  tensorboardUrl?: string;
  maxBodyBytes?: number;
  /** How long retried batches are recognised by id (default 7 days); older ids are pruned at start and hourly. */
  batchIdRetentionMs?: number;
  /** Reads without a credential (PATCHWORK_PUBLIC_READ=1). */
  publicRead?: boolean;
  /** Host names the tracker answers to without the token (DNS-rebinding guard); undefined: any. */
  hostNames?: string[];
  /** How long a session started with ?token= lasts; default 12 hours. */
  sessionTtlMs?: number;
  /** More routers, mounted at `path` (tracker/main.ts mounts the label store at /projects); `create` gets the run database. */
  routers?: { path: string; create: (db: TrackerDb) => Hono<any, any, any> }[];
}

export interface Tracker {
  app: Hono;
  db: TrackerDb;
  sessions: RunSessions;
  /** Flushes and closes every open event file and the Temporal connection. */
  close(): Promise<void>;
}

export function createTracker(options: TrackerOptions): Tracker {
  const db = options.db ?? openTrackerDb(':memory:');
  const registry = new RunRegistry(db);
  const sessions = new RunSessions(options.logDir, registry);
  const retention = options.batchIdRetentionMs ?? 7 * 24 * 3600_000;
  const prune = () => registry.pruneBatches(new Date(Date.now() - retention));
  prune();
  const pruning = setInterval(prune, 3600_000);
  pruning.unref();
  const temporal = options.temporalAddress ? new TemporalStatus(options.temporalAddress, options.temporalNamespace) : undefined;
  const app = new Hono();
  app.onError(answerError);
  app.use('*', securityHeaders());
  app.use('*', hostCheck(options.hostNames, options.token));
  app.use(
    '*',
    readAccess({
      token: options.token,
      signer: new SessionSigner(options.token),
      sessionTtlMs: options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS,
      publicRead: options.publicRead,
    }),
  );
  app.get('/health', (c) => c.json({ ok: true, service: 'patchwork-tracker' }));
  app.route('/api/runs', runsApi({ token: options.token, sessions, registry, maxBodyBytes: options.maxBodyBytes }));
  app.route('/runs', runPages({ registry, logDir: options.logDir, temporal, tensorboardUrl: options.tensorboardUrl }));
  app.route('/static', staticFiles());
  app.get('/', (c) => c.redirect('/runs'));
  for (const router of options.routers ?? []) app.route(router.path, router.create(db));
  return {
    app,
    db,
    sessions,
    async close() {
      clearInterval(pruning);
      await sessions.closeAll();
      await temporal?.close();
    },
  };
}
