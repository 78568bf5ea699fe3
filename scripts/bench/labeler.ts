// The labeler under load: a real tracker process with one project of 100 000 images, then autocannon with
// 50 connections against (1) the grid page, (2) a label write (JSON) and (3) the page's own label write (htmx), then
// one active-learning round end to end on real Temporal, a real worker process and synthetic stored embeddings of every
// image, then the grid page again (it opens on the published queue) and every ordering with one client.
//   npm run bench:labeler -- [--images 100000] [--classes 4] [--connections 50] [--duration 15] [--dim 64]
//                             [--initial-labels 400] [--after-duration 10] [--skip-round]
//
// Images: synthetic keys (img/000000.png ...). No image files exist: the grid page renders <img loading="lazy"> tags
// that point at the thumbnail route, and autocannon fetches only the HTML, so thumbnails are never requested. Labels
// follow a ground truth (image i belongs to class i % classes), and each image's embedding is a Gaussian vector plus
// an offset in the direction of its class, so the round trains on something learnable.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { connectClient } from '../../cli/temporal-client.ts';
import { activeLearningWorkflow } from '../../workflows/index.ts';
import { TASK_QUEUES } from '../../contracts/task-queues.ts';
import { activeLearningStatusQuery, stopActiveLearningSignal, type ActiveLearningInput } from '../../contracts/active-learning.ts';
import { partKeysKey, partVectorsKey } from '../../storage/layout.ts';
import type { PartKeys } from '../../storage/embeddings.ts';
import { openStorage } from '../../storage/index.ts';
import { Rng } from '../../ml/rng.ts';
import { startStack, type TestStack } from '../../tests/helpers/stack.ts';
import { startTracker, type LiveTracker } from '../../tests/helpers/tracker.ts';

// autocannon ships no types; the part of its API used here.
interface CannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: CannonRequest) => CannonRequest;
}
interface CannonOptions {
  url: string;
  connections?: number;
  duration?: number;
  /** Seconds before a request counts as timed out. */
  timeout?: number;
  headers?: Record<string, string>;
  requests?: CannonRequest[];
}
interface CannonResult {
  latency: { p50: number; p99: number };
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (
  o: CannonOptions,
) => Promise<CannonResult>;

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '100000' },
    classes: { type: 'string', default: '4' },
    connections: { type: 'string', default: '50' },
    duration: { type: 'string', default: '15' },
    'after-duration': { type: 'string', default: '10' },
    dim: { type: 'string', default: '64' },
    'initial-labels': { type: 'string', default: '400' },
    'skip-round': { type: 'boolean', default: false },
  },
});
const n = Number(args.images);
const classCount = Number(args.classes);
const connections = Number(args.connections);
const duration = Number(args.duration);
const afterDuration = Number(args['after-duration']);
const dim = Number(args.dim);
const initialLabels = Number(args['initial-labels']);
for (const [name, v] of Object.entries({ n, classCount, connections, duration, dim, initialLabels })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
}
if (!Number.isInteger(afterDuration) || afterDuration < 0) throw new Error('--after-duration must be >= 0');

const PROJECT = 'bench';
const CLASSES = Array.from({ length: classCount }, (_, j) => `class${j}`);
const keyOf = (i: number) => `img/${String(i).padStart(6, '0')}.png`;
const truth = (i: number, j: number) => (i % classCount === j ? 1 : 0);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

const root = mkdtempSync(join(tmpdir(), 'bench-labeler-'));
let tracker: LiveTracker | undefined;
let stack: TestStack | undefined;

async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${tracker!.url}/projects${path}`, {
    method,
    headers: { authorization: `Bearer ${tracker!.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

interface Measured {
  name: string;
  p50: number;
  p99: number;
  rps: number;
  total: number;
  bad: number;
}

async function cannon(name: string, opts: CannonOptions): Promise<Measured> {
  const before = load();
  // A long timeout: under 50 connections a slow page queues for many seconds, and that wait is what is measured.
  const r = await autocannon({ connections, duration, timeout: 60, ...opts });
  const m = {
    name,
    p50: r.latency.p50,
    p99: r.latency.p99,
    rps: r.requests.average,
    total: r.requests.total,
    bad: r.non2xx + r.errors + r.timeouts,
  };
  console.log(
    `${name}: p50 ${m.p50} ms, p99 ${m.p99} ms, ${m.rps.toFixed(1)} req/s (${m.total} requests, ${m.bad} non-2xx/errors) ` +
      `[${opts.connections ?? connections} connections, ${opts.duration ?? duration} s; load avg before ${before}, after ${load()}]`,
  );
  if (m.total === 0 || m.bad === m.total) throw new Error(`${name}: no request succeeded`);
  // autocannon stops sending at the deadline, but requests already queued in the tracker still run (each handler is
  // synchronous SQLite work): wait for that backlog to drain, so the next measurement starts on an idle tracker.
  const drainStart = Date.now();
  for (let quick = 0; quick < 2 && Date.now() - drainStart < 180_000;) {
    const t = Date.now();
    await fetch(`${tracker!.url}/health`);
    quick = Date.now() - t < 100 ? quick + 1 : 0;
  }
  console.log(`  backlog drained ${secs(Date.now() - drainStart)} after the run ended`);
  return m;
}

/** Median latency of `count` requests sent one after another on an otherwise idle tracker. */
async function sequential(
  name: string,
  count: number,
  send: (i: number) => Promise<Response>,
): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const r = await send(i);
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`${name}: ${r.status}`);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  const median = ms[Math.floor(count / 2)]!;
  console.log(`${name}, one client, ${count} requests in a row: median ${median.toFixed(1)} ms`);
  return median;
}

try {
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model}), load avg ${load()}`);
  tracker = await startTracker(join(root, 'tracker'), 'bench-token');

  // ---- the project: 100 000 images, classes, some labels ----
  let t = Date.now();
  await api('POST', '', { id: PROJECT });
  const keys = Array.from({ length: n }, (_, i) => keyOf(i));
  for (let start = 0; start < n; start += 20_000) {
    await api('POST', `/${PROJECT}/images`, {
      images: keys.slice(start, start + 20_000).map((key) => ({ key })),
    });
  }
  for (const name of CLASSES) await api('POST', `/${PROJECT}/classes`, { name });
  // Every class of the first `initialLabels` images, eight writes in flight.
  const cells = Array.from({ length: Math.min(initialLabels, n) * classCount }, (_, c) => c);
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let c = cells.pop(); c !== undefined; c = cells.pop()) {
        const i = Math.floor(c / classCount);
        const j = c % classCount;
        await api('POST', `/${PROJECT}/labels`, {
          key: keyOf(i),
          class: CLASSES[j],
          value: String(truth(i, j)),
        });
      }
    }),
  );
  console.log(
    `setup: ${n} images, ${classCount} classes, ${Math.min(initialLabels, n) * classCount} label cells in ${secs(Date.now() - t)}`,
  );

  // The labeler's cookie, as a person gets it by opening the page once with ?token=.
  const login = await fetch(`${tracker.url}/projects/${PROJECT}/label?token=${tracker.token}&labeler=bench`, {
    redirect: 'manual',
  });
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  if (login.status !== 303 || !cookie.includes('pw_labels_token'))
    throw new Error(`login: ${login.status}, cookie ${cookie}`);
  const page = await fetch(`${tracker.url}/projects/${PROJECT}/label`, { headers: { cookie } });
  const html = await page.text();
  if (!page.ok || !html.includes('loading="lazy"')) throw new Error(`grid page: ${page.status}`);
  console.log(
    `grid page: ${html.length} bytes of HTML, ${html.split('<img ').length - 1} lazy thumbnails (not fetched)`,
  );

  const gridAlone = await sequential('grid page', 5, () =>
    fetch(`${tracker!.url}/projects/${PROJECT}/label`, { headers: { cookie } }),
  );
  const writeAlone = await sequential('label write', 20, (i) =>
    fetch(`${tracker!.url}/projects/${PROJECT}/labels`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tracker!.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key: keyOf(n - 1 - i), class: CLASSES[0], value: String(truth(n - 1 - i, 0)) }),
    }),
  );
  // The labeler page's own write: htmx form post with the cookie; it answers with the re-rendered card, counts and
  // history, so it does more than the JSON write above.
  const htmxAlone = await sequential('label write from the page (htmx, cookie)', 5, (i) =>
    fetch(`${tracker!.url}/projects/${PROJECT}/labels`, {
      method: 'POST',
      headers: { cookie, 'hx-request': 'true', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: keyOf(n - 100 - i), class: CLASSES[1]!, value: '0' }).toString(),
    }),
  );

  // ---- 1. the grid page ----
  const grid = await cannon('grid page  GET /projects/bench/label', {
    url: `${tracker.url}/projects/${PROJECT}/label`,
    headers: { cookie },
  });

  // ---- 2. a label write: JSON API, bearer token, a different image and class each request ----
  const rng = Rng.fromSeed(6);
  const write = await cannon('label write POST /projects/bench/labels', {
    url: tracker.url,
    requests: [
      {
        method: 'POST',
        path: `/projects/${PROJECT}/labels`,
        headers: { authorization: `Bearer ${tracker.token}`, 'content-type': 'application/json' },
        setupRequest: (req) => {
          const i = Math.floor(rng.next() * n);
          const j = Math.floor(rng.next() * classCount);
          return {
            ...req,
            body: JSON.stringify({ key: keyOf(i), class: CLASSES[j], value: String(truth(i, j)) }),
          };
        },
      },
    ],
  });

  // ---- 3. the labeler page's own write: htmx form post with the cookie, answered with the one card and the counts ----
  const htmxWrite = await cannon('label write from the page (htmx, cookie) POST /projects/bench/labels', {
    url: tracker.url,
    requests: [
      {
        method: 'POST',
        path: `/projects/${PROJECT}/labels`,
        headers: { cookie, 'hx-request': 'true', 'content-type': 'application/x-www-form-urlencoded' },
        setupRequest: (req) => {
          const i = Math.floor(rng.next() * n);
          const j = Math.floor(rng.next() * classCount);
          return {
            ...req,
            body: new URLSearchParams({
              key: keyOf(i),
              class: CLASSES[j]!,
              value: String(truth(i, j)),
            }).toString(),
          };
        },
      },
    ],
  });

  const results: Measured[] = [grid, write, htmxWrite];
  const alone: Record<string, number> = { grid: gridAlone, write: writeAlone, htmxWrite: htmxAlone };
  const labelled = ((await api('GET', `/${PROJECT}/history?limit=1`)) as { history: { id: number }[] })
    .history[0]!.id;
  console.log(`label history rows after the write run: ${labelled}`);

  // ---- 3. one active-learning round end to end ----
  if (!args['skip-round']) {
    t = Date.now();
    stack = await startStack({ temporal: true });
    stack.settings.tracker = { url: tracker.url, token: tracker.token };
    const store = openStorage(stack.settings.store, stack.settings.s3);
    const modelHash = 'bench-synthetic';
    const g = Rng.fromSeed(64);
    const vectors = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < dim; d++) vectors[i * dim + d] = g.normal();
      vectors[i * dim + (i % classCount)] += 3;
    }
    const part: PartKeys = { version: 1, dim, keys, skipped: [], source: 'synthetic', runId: 'bench' };
    await store.put(partVectorsKey(modelHash, 0), new Uint8Array(vectors.buffer));
    await store.put(partKeysKey(modelHash, 0), JSON.stringify(part));
    await stack.startWorker();
    const client = await connectClient(stack.settings);
    console.log(
      `round setup (Temporal dev server, worker, ${n} x ${dim} embeddings): ${secs(Date.now() - t)}`,
    );

    const loadBefore = load();
    const t0 = Date.now();
    const handle = await client.workflow.start(activeLearningWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: 'al-bench',
      args: [
        { project: PROJECT, modelHash, minNewLabels: 1, pollIntervalMs: 600_000 } as ActiveLearningInput,
      ],
    });
    const phases: { phase: string; at: number }[] = [];
    let status;
    for (;;) {
      status = await handle.query(activeLearningStatusQuery);
      if (phases.at(-1)?.phase !== status.phase) phases.push({ phase: status.phase, at: Date.now() - t0 });
      // rounds counts up once publishRound has returned (phase stays 'publishing' until the next poll of the store).
      if (status.rounds >= 1) break;
      if (status.lastError) throw new Error(`round failed: ${status.lastError}`);
      if (Date.now() - t0 > 600_000)
        throw new Error(`round not done after 10 min: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const roundMs = Date.now() - t0;
    const last = status.last!;
    console.log(
      `active-learning round: ${secs(roundMs)} end to end (workflow start -> round 1 published) ` +
        `[load avg before ${loadBefore}, after ${load()}]`,
    );
    console.log(
      `  phases (first seen, polled every 200 ms): ${phases.map((p) => `${p.phase} @${secs(p.at)}`).join(', ')}`,
    );
    console.log(
      `  labelled cells ${last.labelled}, predicted ${last.predicted}, queue ${last.queueSize} (${
        (await handle.describe()).status.name
      }), mean AUC ${last.meanAuc?.toFixed(3)} on ${last.evaluatedOn}, missing embeddings ${last.missingEmbeddings}`,
    );
    if (last.predicted !== n) throw new Error(`expected ${n} predictions, got ${last.predicted}`);
    await handle.signal(stopActiveLearningSignal);
    await handle.result();

    // ---- 4. the grid page again: it now opens on the published queue, and every image has predictions ----
    const queuePage = await (
      await fetch(`${tracker.url}/projects/${PROJECT}/label`, { headers: { cookie } })
    ).text();
    if (!queuePage.includes('id="queue-info"'))
      throw new Error('after the round the grid page does not show the active-learning queue');
    const gridPredAlone = await sequential('grid page with predictions (queue)', 5, () =>
      fetch(`${tracker!.url}/projects/${PROJECT}/label`, { headers: { cookie } }),
    );
    Object.assign(alone, { gridWithPredictions: gridPredAlone, roundSeconds: roundMs / 1000 });
    // Every other ordering and a few subsets, one client each.
    const orderings: Record<string, number> = {};
    const sorts = [
      'random',
      'max entropy',
      'high: class1',
      'low: class1',
      'maxent: class1',
      'diverse (badge)',
    ];
    for (const subset of ['unlabeled', 'partially labeled', 'not excluded', 'contains: class1']) {
      for (const sort of sorts) {
        const q = new URLSearchParams({ subset, sort }).toString();
        orderings[`${subset} / ${sort}`] = await sequential(`grid page ${subset} / ${sort}`, 5, () =>
          fetch(`${tracker!.url}/projects/${PROJECT}/label?${q}`, { headers: { cookie } }),
        );
      }
    }
    Object.assign(alone, { orderings });
    if (afterDuration > 0) {
      results.push(
        await cannon('grid page with predictions (queue)', {
          url: `${tracker.url}/projects/${PROJECT}/label`,
          headers: { cookie },
          duration: afterDuration,
        }),
      );
    }
  }
  console.log(JSON.stringify({ images: n, classes: classCount, connections, alone, results }));
} finally {
  await tracker?.stop();
  await stack?.stop();
  rmSync(root, { recursive: true, force: true });
}
