/** Tracker process: `node --import tsx tracker/main.ts --port 8787`. Settings come from the environment. */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { join } from 'node:path';
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

function portFromArgs(argv: string[], fallback: number): number {
  const i = argv.indexOf('--port');
  const port = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(port) || port <= 0 || port > 65535)
    throw new Error(`--port ${argv[i + 1]} is not a TCP port`);
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
const port = portFromArgs(process.argv.slice(2), Number(new URL(settings.tracker.url).port || 8787));
const tracker = createTracker({
  logDir: join(settings.home, 'tensorboard'),
  token: settings.tracker.token,
  db: openTrackerDb(join(settings.home, 'tracker.db')),
  temporalAddress: process.env.TEMPORAL_ADDRESS ? settings.temporal.address : undefined,
  temporalNamespace: settings.temporal.namespace,
  tensorboardUrl: process.env.PATCHWORK_TENSORBOARD_URL ?? 'http://127.0.0.1:6006',
  publicRead: process.env.PATCHWORK_PUBLIC_READ === '1',
  hostNames: trackerHostNames(
    settings.tracker.url,
    process.argv.includes('--host') ? process.argv[process.argv.indexOf('--host') + 1] : undefined,
    process.env.PATCHWORK_TRACKER_HOSTS,
  ),
  routers: [
    {
      path: '/projects',
      create: () => {
        const store = LabelStore.open(join(settings.home, 'labels.db'));
        const router = new Hono();
        // A label write signals the project's active-learning loop, so a due round starts at once.
        router.use('/:project/*', roundTrigger(store).middleware());
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
          }),
        );
      },
    },
  ],
});
const hostIndex = process.argv.indexOf('--host');
const hostname = hostIndex >= 0 ? process.argv[hostIndex + 1] : '127.0.0.1';
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
