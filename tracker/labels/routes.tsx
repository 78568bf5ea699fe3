// labelsRouter: the labeler page, its htmx write endpoints, thumbnails, CSV import/export and a small JSON API.
// Mount with `app.route('/projects', labelsRouter(deps))`. See auth.ts for the token scheme.
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { subsetOptions } from '../../ml/active/query.ts';
import type { LabelTable } from '../../ml/active/table.ts';
import type { Storage } from '../../storage/storage.ts';
import { LABELER_NAME, session, startSession, tokenMatches, writer } from './auth.ts';
import { DEFAULT_SESSION_TTL_MS, SessionSigner } from './session.ts';
import { exportCsv, importCsv } from './csv.ts';
import { GridPicker, gridSortOptions, QUEUE_SORT } from './grid.ts';
import { queueInfo, queueKeys, setQueue } from './queue.ts';
import { queueWatch } from './queue-watch.tsx';
import {
  checkImageKey,
  LabelStore,
  LabelStoreError,
  PROJECT_ID,
  type ClassInfo,
  type ImageRow,
} from './store.ts';
import { ImageSources, type ImageSourcesOptions } from './image-sources.ts';
import { thumbnail } from './thumbs.ts';
import { Card, Counts, History, Page } from './views.tsx';

export interface LabelsDeps {
  store: LabelStore;
  /** Where project images live; a project's keys are relative to its `root` prefix inside this storage. */
  storage: Storage;
  /** Projects whose root is an absolute folder or s3:// location: which locations are allowed, and S3 access. */
  imageRoots?: Omit<ImageSourcesOptions, 'base'>;
  /** Bearer token that every write requires. */
  token: string;
  /** Folder for cached thumbnails. */
  cacheDir: string;
  /** Largest JSON or form body a write accepts, in bytes; default 32 MiB. */
  maxBodyBytes?: number;
  /** Largest CSV import, in bytes; default 64 MiB. */
  maxCsvBytes?: number;
  /** How long a labeler's session cookie is valid; default 12 hours. */
  sessionTtlMs?: number;
}

const require = createRequire(import.meta.url);
const staticFiles: Record<string, { type: string; body: string }> = {
  'htmx.min.js': {
    type: 'text/javascript',
    body: readFileSync(require.resolve('htmx.org/dist/htmx.min.js'), 'utf8'),
  },
  'labeler.js': {
    type: 'text/javascript',
    body: readFileSync(new URL('./static/labeler.js', import.meta.url), 'utf8'),
  },
  'labeler.css': {
    type: 'text/css',
    body: readFileSync(new URL('./static/labeler.css', import.meta.url), 'utf8'),
  },
};

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export const THUMB_SIZES = [32, 64, 128, 256, 512] as const;

const cellValue = z.enum(['', '0', '1']).transform((v) => (v === '' ? null : (Number(v) as 0 | 1)));
const schemas = {
  page: z.object({
    subset: z.string().max(200).optional(),
    sort: z.string().max(200).optional(),
    dim: z.coerce.number().int().min(1).max(8).default(3),
    seed: z.coerce
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
    token: z.string().max(500).optional(),
    labeler: z.string().regex(LABELER_NAME, 'labeler: 1-40 of A-Z a-z 0-9 _ . @ -').optional(),
  }),
  label: z.object({ key: z.string().min(1).max(1024), class: z.string().min(1).max(100), value: cellValue }),
  flag: z.object({
    key: z.string().min(1).max(1024),
    flag: z.enum(['exclude', 'validation']),
    value: z.enum(['0', '1']),
  }),
  addClass: z.object({ name: z.string().min(1).max(100) }),
  rename: z.object({ from: z.string().min(1).max(100), to: z.string().min(1).max(100) }),
  retire: z.object({ name: z.string().min(1).max(100), retired: z.enum(['0', '1']).default('1') }),
  project: z.object({
    id: z.string().regex(PROJECT_ID, 'id: 1-64 of a-z 0-9 - _'),
    name: z.string().min(1).max(200).optional(),
    root: z.string().max(1024).optional(),
  }),
  images: z.object({
    images: z
      .array(z.object({ key: z.string().min(1).max(1024), viewKey: z.string().min(1).max(1024).nullish() }))
      .max(100_000),
  }),
  predictions: z.object({
    keys: z.array(z.string()).max(1_000_000),
    classes: z.array(z.string()).min(1),
    probs: z.array(z.array(z.number().min(0).max(1))),
  }),
  queue: z.object({
    round: z.number().int().min(0),
    sort: z.string().min(1).max(200),
    keys: z.array(z.string().min(1).max(1024)).max(1_000_000),
  }),
  // A few sizes only: each size of each image is a cached file.
  thumb: z.object({
    size: z
      .enum(THUMB_SIZES.map(String) as [string, ...string[]], {
        errorMap: () => ({ message: `one of ${THUMB_SIZES.join(', ')} pixels` }),
      })
      .default('256')
      .transform(Number),
  }),
};

class HttpError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 422,
    message: string,
  ) {
    super(message);
  }
}

function parse<T extends z.ZodTypeAny>(schema: T, data: unknown): z.infer<T> {
  const r = schema.safeParse(data);
  if (!r.success)
    throw new HttpError(
      400,
      r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  return r.data;
}

async function body(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (type.includes('application/json')) {
    try {
      return await c.req.json();
    } catch {
      throw new HttpError(400, 'body is not valid JSON');
    }
  }
  return c.req.parseBody();
}

export function toLabelTable(rows: ImageRow[], classes: ClassInfo[]): LabelTable {
  const k = classes.length;
  const t: LabelTable = {
    n: rows.length,
    classes: classes.map((c) => c.name),
    labels: new Int8Array(rows.length * k).fill(-1),
    exclude: new Uint8Array(rows.length),
    validation: new Uint8Array(rows.length),
  };
  rows.forEach((r, i) => {
    t.exclude[i] = r.exclude ? 1 : 0;
    t.validation[i] = r.validation ? 1 : 0;
    classes.forEach((c, j) => {
      const v = r.labels.get(c.id);
      if (v !== undefined) t.labels[i * k + j] = v;
    });
  });
  return t;
}

export function labelsRouter(deps: LabelsDeps): Hono {
  const { store } = deps;
  const picker = new GridPicker(store);
  const sources = new ImageSources({ base: deps.storage, ...deps.imageRoots });
  const signer = new SessionSigner(deps.token);
  const sessionTtlMs = deps.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  const app = new Hono();

  app.onError((error, c) => {
    const status = error instanceof HttpError || error instanceof LabelStoreError ? error.status : 500;
    if (status === 500) console.error('labels router:', error);
    const message = status === 500 ? 'internal error' : error.message;
    // htmx does not swap error responses; labeler.js shows the text in the page's status line.
    if (c.req.header('hx-request') === 'true') return c.text(message, status);
    return c.json({ error: message }, status);
  });

  const requireWriter = (c: Context): string => {
    const who = writer(c, deps.token, signer);
    if (!who)
      throw new HttpError(
        401,
        'writes need the bearer token (Authorization: Bearer …), or open the labeler with ?token=…',
      );
    return who;
  };
  // Writes are authorised before their body is read, and bodies are counted while they stream in.
  const limited = (maxSize: number, fix: string) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new HttpError(413, `request body is larger than ${maxSize} bytes; ${fix}`);
      },
    });
  const jsonLimit = limited(deps.maxBodyBytes ?? 32 << 20, 'send the items in several smaller requests');
  const csvLimit = limited(deps.maxCsvBytes ?? 64 << 20, 'split the CSV into several files and import each');
  app.on(['POST', 'PUT'], ['/', '/*'], (c, next) => {
    requireWriter(c);
    return (c.req.path.endsWith('/import.csv') ? csvLimit : jsonLimit)(c, next);
  });

  const projectOf = (c: Context) => {
    const id = c.req.param('project')!;
    if (!PROJECT_ID.test(id)) throw new HttpError(404, `no project ${JSON.stringify(id)}`);
    return store.project(id);
  };

  app.get('/_static/:file', (c) => {
    const f = staticFiles[c.req.param('file')];
    if (!f) return c.text('not found', 404);
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(f.body, 200, { 'Content-Type': `${f.type}; charset=utf-8` });
  });

  // ---- JSON API ----
  app.get('/', (c) => c.json({ projects: store.listProjects() }));
  app.post('/', async (c) => {
    requireWriter(c);
    const b = parse(schemas.project, await body(c));
    if (b.root) await sources.check(b.root);
    return c.json(store.createProject(b.id, { name: b.name, root: b.root }), 201);
  });
  app.post('/:project/images', async (c) => {
    requireWriter(c);
    const p = projectOf(c);
    const b = parse(schemas.images, await body(c));
    return c.json({ added: store.addImages(p.id, b.images) });
  });
  app.put('/:project/predictions', async (c) => {
    requireWriter(c);
    const p = projectOf(c);
    const b = parse(schemas.predictions, await body(c));
    if (b.probs.length !== b.keys.length) throw new HttpError(400, 'probs needs one row per key');
    store.setPredictions(p.id, b.keys, b.classes, b.probs);
    return c.json({ ok: true });
  });
  app.put('/:project/queue', async (c) => {
    requireWriter(c);
    const p = projectOf(c);
    const b = parse(schemas.queue, await body(c));
    return c.json(setQueue(store, p.id, b));
  });
  app.get('/:project/queue/watch', (c) => queueWatch(c, store, projectOf(c).id));
  app.get('/:project/queue', (c) => {
    const p = projectOf(c);
    const info = queueInfo(store, p.id);
    if (!info) throw new HttpError(404, `project ${p.id} has no active-learning queue yet`);
    return c.json({ ...info, keys: queueKeys(store, p.id) });
  });
  app.get('/:project/export.csv', (c) => {
    const p = projectOf(c);
    c.header('Content-Disposition', `attachment; filename="${p.id}-labels.csv"`);
    return c.body(exportCsv(store, p.id), 200, { 'Content-Type': 'text/csv; charset=utf-8' });
  });
  app.post('/:project/import.csv', async (c) => {
    const who = requireWriter(c);
    const p = projectOf(c);
    return c.json(importCsv(store, p.id, await c.req.text(), who));
  });
  // Read by the active-learning activities: retired classes are neither trained nor predicted.
  app.get('/:project/classes', (c) => {
    const p = projectOf(c);
    const classes = store.classes(p.id, { includeRetired: true });
    return c.json({ classes: classes.map((x) => ({ name: x.name, retired: x.retired })) });
  });
  app.get('/:project/history', (c) => {
    const p = projectOf(c);
    const limit = parse(z.coerce.number().int().min(1).max(10_000).default(100), c.req.query('limit'));
    return c.json({ history: store.historyEntries(p.id, { limit }) });
  });

  // ---- thumbnails ----
  app.get('/:project/images/:key{.+}', async (c) => {
    const p = projectOf(c);
    const { size } = parse(schemas.thumb, c.req.query());
    let key: string;
    try {
      key = checkImageKey(c.req.param('key'));
    } catch (error) {
      throw new HttpError(400, (error as Error).message);
    }
    const row = store.rows(p.id, [key])[0];
    if (!row) throw new HttpError(404, `no image ${JSON.stringify(key)} in project ${p.id}`);
    const jpeg = await thumbnail(await sources.image(p.root, row.viewKey ?? key), size, deps.cacheDir);
    c.header('Cache-Control', 'private, max-age=600');
    return c.body(new Uint8Array(jpeg), 200, { 'Content-Type': 'image/jpeg' });
  });

  // ---- the labeler page ----
  app.get('/:project/label', (c) => {
    const p = projectOf(c);
    const q = parse(schemas.page, c.req.query());
    if (q.token !== undefined) {
      if (!tokenMatches(q.token, deps.token)) throw new HttpError(401, 'wrong token');
      startSession(c, signer, q.labeler ?? 'web', sessionTtlMs);
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      url.searchParams.delete('labeler');
      return c.redirect(url.pathname + url.search, 303);
    }
    const classes = store.classes(p.id);
    const queue = queueInfo(store, p.id);
    const subsets = subsetOptions(classes.map((x) => x.name));
    const sorts = gridSortOptions(classes, queue !== undefined);
    let note: string | undefined;
    // With a published queue the page opens on it, showing partially labelled queue images too.
    let sort = q.sort ?? (queue ? QUEUE_SORT : 'random');
    let subset = q.subset ?? (sort === QUEUE_SORT ? 'not excluded' : 'unlabeled');
    if (!subsets.includes(subset))
      ((note = `unknown subset ${JSON.stringify(subset)}; showing unlabeled`), (subset = 'unlabeled'));
    if (!sorts.includes(sort)) {
      note =
        sort === QUEUE_SORT
          ? 'no active-learning queue yet; showing random'
          : `unknown sort ${JSON.stringify(sort)}; showing random`;
      sort = 'random';
    }
    const pick = picker.pick(p.id, classes, {
      subset,
      sort,
      count: q.dim * q.dim,
      seed: q.seed ?? randomInt(2 ** 31),
    });
    c.header('Content-Security-Policy', CSP);
    return c.html(
      <Page
        project={p.id}
        title={p.name}
        labeler={session(c, signer)?.labeler}
        subset={subset}
        sort={sort}
        dim={q.dim}
        subsets={subsets}
        sorts={sorts}
        queue={queue}
        rows={store.rowsById(pick.ids)}
        classes={classes}
        retired={store.classes(p.id, { includeRetired: true }).filter((x) => x.retired)}
        probs={store.predictionsFor(pick.ids)}
        counts={store.counts(p.id)}
        history={store.historyEntries(p.id, { limit: 20 })}
        note={note ?? pick.note}
      />,
    );
  });

  // ---- htmx writes ----
  const cardResponse = (c: Context, projectId: string, key: string) => {
    const classes = store.classes(projectId);
    const row = store.rows(projectId, [key])[0]!;
    return c.html(
      <>
        <Card
          project={projectId}
          row={row}
          classes={classes}
          probs={store.predictionsFor([row.id]).get(row.id)}
        />
        <Counts counts={store.counts(projectId)} oob />
        <History entries={store.historyEntries(projectId, { limit: 20 })} oob />
        <div id="status" class="note" hx-swap-oob="true"></div>
      </>,
    );
  };

  app.post('/:project/labels', async (c) => {
    const who = requireWriter(c);
    const p = projectOf(c);
    const b = parse(schemas.label, await body(c));
    const res = store.setLabel(p.id, checkImageKey(b.key), b.class, b.value, who);
    if (c.req.header('hx-request') !== 'true') return c.json(res);
    return cardResponse(c, p.id, b.key);
  });
  app.post('/:project/flags', async (c) => {
    const who = requireWriter(c);
    const p = projectOf(c);
    const b = parse(schemas.flag, await body(c));
    const res = store.setFlag(p.id, checkImageKey(b.key), b.flag, b.value === '1', who);
    if (c.req.header('hx-request') !== 'true') return c.json(res);
    return cardResponse(c, p.id, b.key);
  });
  app.post('/:project/undo', (c) => {
    const who = requireWriter(c);
    const p = projectOf(c);
    const res = store.undo(p.id, who);
    if (c.req.header('hx-request') !== 'true') return c.json(res ?? { undone: null });
    if (!res)
      return c.html(
        <div id="status" class="note" hx-swap-oob="true">
          nothing to undo
        </div>,
      );
    const classes = store.classes(p.id);
    const row = store.rows(p.id, [res.undone.imageKey])[0]!;
    return c.html(
      <>
        <Card
          project={p.id}
          row={row}
          classes={classes}
          probs={store.predictionsFor([row.id]).get(row.id)}
          oob
        />
        <Counts counts={store.counts(p.id)} oob />
        <History entries={store.historyEntries(p.id, { limit: 20 })} oob />
        <div id="status" class="note" hx-swap-oob="true">
          undid {res.undone.field === 'label' ? res.undone.className : res.undone.field} on{' '}
          {res.undone.imageKey}
        </div>
      </>,
    );
  });
  const classChange = (c: Context, result: unknown) => {
    if (c.req.header('hx-request') === 'true') {
      c.header('HX-Refresh', 'true'); // the grid's columns changed: reload the page
      return c.text('');
    }
    return c.json(result);
  };
  app.post('/:project/classes', async (c) => {
    requireWriter(c);
    const p = projectOf(c);
    const b = parse(schemas.addClass, await body(c));
    return classChange(c, store.addClass(p.id, b.name));
  });
  app.post('/:project/classes/rename', async (c) => {
    requireWriter(c);
    const p = projectOf(c);
    const b = parse(schemas.rename, await body(c));
    return classChange(c, store.renameClass(p.id, b.from, b.to));
  });
  app.post('/:project/classes/retire', async (c) => {
    requireWriter(c);
    const p = projectOf(c);
    const b = parse(schemas.retire, await body(c));
    return classChange(c, store.setClassRetired(p.id, b.name, b.retired === '1'));
  });

  return app;
}
