// In-process tracker with the label store mounted, and snapshots of everything it stores (files and rows), for tests
// that check refused requests leave nothing behind.
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { join } from 'node:path';
import { createTracker, type Tracker, type TrackerOptions } from '../../tracker/app.ts';
import { openTrackerDb } from '../../tracker/db/index.ts';
import { labelsRouter, type LabelsDeps } from '../../tracker/labels/routes.tsx';
import { LabelStore } from '../../tracker/labels/store.ts';
import { LocalStorage } from '../../storage/index.ts';

export interface TestTracker extends Tracker {
  token: string;
  logDir: string;
  store: LabelStore;
  /** Sends a request with the bearer token (unless headers say otherwise) and returns status and parsed body. */
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; text: string }>;
  /** Every file and folder under the log dir with its size, and a hash of the rows of every table of both databases. */
  snapshot(): Record<string, number | string>;
}

export function startTestTracker(
  dir: string,
  options: { token?: string; labels?: Partial<LabelsDeps>; tracker?: Partial<TrackerOptions> } = {},
): TestTracker {
  const token = options.token ?? 'test-token';
  const logDir = join(dir, 'tensorboard');
  const store = LabelStore.open(join(dir, 'labels.db'));
  const tracker = createTracker({
    logDir,
    token,
    db: openTrackerDb(join(dir, 'tracker.db')),
    ...options.tracker,
    routers: [
      {
        path: '/projects',
        create: () =>
          labelsRouter({
            store,
            storage: new LocalStorage(join(dir, 'images')),
            token,
            cacheDir: join(dir, 'thumbs'),
            ...options.labels,
          }),
      },
    ],
  });
  const tables = (db: Database.Database, prefix: string) => {
    const out: Record<string, string> = {};
    const names = db
      .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")
      .pluck()
      .all() as string[];
    for (const name of names) {
      const rows = db.prepare(`select * from "${name}"`).raw().all();
      out[`${prefix}:${name}`] = createHash('sha1').update(JSON.stringify(rows)).digest('hex');
    }
    return out;
  };
  const files = (folder: string, out: Record<string, number>) => {
    let names: string[];
    try {
      names = readdirSync(folder);
    } catch {
      return out;
    }
    for (const name of names) {
      const path = join(folder, name);
      const st = statSync(path);
      if (st.isDirectory()) {
        out[`${path}/`] = 0;
        files(path, out);
      } else out[path] = st.size;
    }
    return out;
  };
  return {
    ...tracker,
    token,
    logDir,
    store,
    async call(method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { authorization: `Bearer ${token}`, ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
          (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
      const r = await tracker.app.request(path, init);
      const text = await r.text();
      let parsed: any;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { raw: text };
      }
      return { status: r.status, body: parsed, text };
    },
    snapshot() {
      return {
        ...files(logDir, {}),
        ...tables(tracker.db.$client, 'tracker'),
        ...tables(store.sqlite, 'labels'),
      };
    },
    async close() {
      await tracker.close();
      store.close();
      tracker.db.$client.close();
    },
  };
}
