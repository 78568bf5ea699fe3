/** Tracker process: `node --import tsx tracker/main.ts --port 8787 [--host 127.0.0.1]`. Settings come from the environment. */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSettings } from '../config/settings.ts';
import { trackerHostNames } from './api/access.ts';
import { createTracker } from './app.ts';
import { openTrackerDb } from './db/index.ts';
import { LabelStore } from './labels/store.ts';
import { imageRootsFromEnv } from './labels/image-sources.ts';
import { labelsRouter } from './labels/routes.tsx';
import { RoundTrigger } from './labels/round-trigger.ts';
import { lazyTemporalClient } from './temporal-client.ts';
import { openStorage } from '../storage/index.ts';

/** --port and --host; other arguments are left to Node and tsx. */
function argsOf(argv: string[]): { port?: string; host?: string } {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, host: { type: 'string' } },
    strict: false,
    allowPositionals: true,
  });
  for (const name of ['port', 'host'] as const) {
    if (values[name] === true) throw new Error(`--${name} needs a value, e.g. --port 8787 --host 127.0.0.1`);
  }
  return values as { port?: string; host?: string };
}

function portFromArgs(value: string | undefined, fallback: number): number {
  const port = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`--port ${value} is not a TCP port`);
  return port;
}

const settings = loadSettings();
const temporalClient = lazyTemporalClient(
  process.env.TEMPORAL_ADDRESS ? settings.temporal.address : undefined,
  settings.temporal.namespace,
);
const roundTrigger = (store: LabelStore) => new RoundTrigger(store, temporalClient);
if (!settings.tracker.token)
  throw new Error('PATCHWORK_TOKEN is not set: the tracker refuses to start without a write token');
const args = argsOf(process.argv.slice(2));
const port = portFromArgs(args.port, Number(new URL(settings.tracker.url).port || 8787));
const tracker = createTracker({
  logDir: join(settings.home, 'tensorboard'),
  token: settings.tracker.token,
  db: openTrackerDb(join(settings.home, 'tracker.db')),
  temporalAddress: process.env.TEMPORAL_ADDRESS ? settings.temporal.address : undefined,
  temporalNamespace: settings.temporal.namespace,
  tensorboardUrl: process.env.PATCHWORK_TENSORBOARD_URL ?? 'http://127.0.0.1:6006',
  publicRead: process.env.PATCHWORK_PUBLIC_READ === '1',
  hostNames: trackerHostNames(settings.tracker.url, args.host, process.env.PATCHWORK_TRACKER_HOSTS),
  routers: [
    {
      path: '/projects',
      create: () => {
        const store = LabelStore.open(join(settings.home, 'labels.db'));
        const router = new Hono();
        // A label write signals the project's active-learning loop, so a due round starts at once.
        const trigger = roundTrigger(store);
        router.use('/:project/*', trigger.middleware());
        return router.route(
          '/',
          labelsRouter({
            store,
            // Labeling projects name their images relative to a root inside this location.
            storage: openStorage(process.env.PATCHWORK_IMAGES ?? process.cwd(), settings.s3),
            // Projects may also name their own absolute folder or s3:// location; PATCHWORK_IMAGE_ROOTS limits which.
            imageRoots: {
              allowedRoots: imageRootsFromEnv(process.env.PATCHWORK_IMAGE_ROOTS),
              s3: settings.s3,
            },
            token: settings.tracker.token!,
            cacheDir: join(settings.home, 'cache', 'thumbs'),
            runsStore: openStorage(settings.store, settings.s3),
            loop: trigger,
          }),
        );
      },
    },
  ],
});
const hostname = args.host ?? '127.0.0.1';
const server = serve({ fetch: tracker.app.fetch, port, hostname }, (info) => {
  console.log(`tracker listening on http://${hostname}:${info.port}`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () =>
    server.close(
      () => void Promise.all([tracker.close(), temporalClient.close()]).finally(() => process.exit(0)),
    ),
  );
}
