// Run pages: the list of runs (status from the registry, and from Temporal when reachable) and one page per run with
// SVG charts of every scalar tag, the latest images and the hparams. Fragments are polled with htmx (hx-trigger
// "every 2s"), so charts and statuses update without a reload.
import { Hono } from 'hono';
import { z } from 'zod';
import type { RunRegistry } from '../db/registry.ts';
import type { RunRow } from '../db/schema.ts';
import { runIdSchema } from '../../contracts/tracker-runs.ts';
import { readRunView } from '../runs/read.ts';
import type { TemporalStatus } from '../temporal-status.ts';
import { parseParam } from '../api/validate.ts';
import { TrackerError } from '../runs/errors.ts';
import { ScalarChart } from './chart.tsx';
import { Layout } from './layout.tsx';
import { StatusBadge } from './status.tsx';

export interface RunPagesOptions {
  registry: RunRegistry;
  logDir: string;
  temporal?: TemporalStatus;
  /** Where `patchwork tensorboard` serves; shown as a link. */
  tensorboardUrl?: string;
  pollSeconds?: number;
}

const when = (d: Date | null) => (d ? d.toISOString().replace('T', ' ').slice(0, 19) : '');

export function runPages(options: RunPagesOptions): Hono {
  const { registry, logDir } = options;
  const every = `every ${options.pollSeconds ?? 2}s`;
  const app = new Hono();

  const RunsTable = async () => {
    const rows = registry.list();
    const live = await (options.temporal?.statuses(rows.map((r) => r.workflowId ?? r.id)) ?? new Map());
    return (
      <div id="runs" hx-get="/runs/table" hx-trigger={every} hx-swap="outerHTML">
        {rows.length === 0 ? (
          <p class="muted">No runs yet. Workers create them through POST /api/runs.</p>
        ) : (
          <table>
            <thead>
              <tr><th>run</th><th>status</th><th>last step</th><th>started</th><th>ended</th><th>workflow</th><th>model</th></tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr data-run={r.id}>
                  <td><a href={`/runs/${encodeURIComponent(r.id)}`}>{r.id}</a></td>
                  <td><StatusBadge registry={r.status} live={live.get(r.workflowId ?? r.id)} /></td>
                  <td>{r.lastStep ?? ''}</td>
                  <td>{when(r.startedAt)}</td>
                  <td>{when(r.endedAt)}</td>
                  <td class="muted">{r.workflowId ?? ''}</td>
                  <td class="muted">{r.model ? <code title={r.model.sha256}>{r.model.key} ({r.model.sha256.slice(0, 12)})</code> : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    );
  };

  const Charts = async (props: { run: RunRow }) => {
    const view = await readRunView(logDir, props.run.id);
    const id = encodeURIComponent(props.run.id);
    return (
      <div id="charts" hx-get={`/runs/${id}/charts`} hx-trigger={every} hx-swap="outerHTML">
        <h2>Scalars</h2>
        <div class="charts">
          {view.scalars.size === 0 ? <p class="muted">No scalars yet.</p> : null}
          {[...view.scalars].sort(([a], [b]) => a.localeCompare(b)).map(([tag, points]) => <ScalarChart tag={tag} points={points} />)}
        </div>
        <h2>Latest images</h2>
        {view.images.size === 0 ? <p class="muted">No images yet.</p> : null}
        {[...view.images].map(([tag, image]) => (
          <figure>
            <figcaption>{tag} <span class="muted">step {image.step}</span></figcaption>
            {image.pngs.map((_, sample) => (
              <img
                src={`/runs/${id}/image?tag=${encodeURIComponent(tag)}&sample=${sample}&step=${image.step}`}
                width={Math.min(image.width, 256)}
                alt={`${tag} sample ${sample}`}
              />
            ))}
          </figure>
        ))}
      </div>
    );
  };

  const requireRun = (param: string) => {
    const id = parseParam(runIdSchema, param, 'run');
    const run = registry.get(id);
    if (!run) throw new TrackerError(404, `run "${id}" is not registered`);
    return run;
  };

  app.get('/', async (c) => c.html(<Layout title="runs"><h1>Runs</h1>{await RunsTable()}</Layout>));
  app.get('/table', async (c) => c.html(await RunsTable()));

  app.get('/:run', async (c) => {
    const run = requireRun(c.req.param('run'));
    const tb = options.tensorboardUrl;
    return c.html(
      <Layout title={run.id}>
        <h1>{run.id}</h1>
        <p>
          <StatusBadge registry={run.status} /> · step {run.lastStep ?? '–'} · started {when(run.startedAt)}
          {run.endedAt ? ` · ended ${when(run.endedAt)}` : ''} · session {run.sessions} (from step {run.sessionStartStep})
          {tb ? (
            <>
              {' · '}
              <a href={`${tb}/?pinnedCards=&runFilter=${encodeURIComponent(run.id)}#timeseries`}>open in TensorBoard</a>
            </>
          ) : null}
        </p>
        {run.model ? (
          <table class="model">
            <thead><tr><th colspan={2}>trained model</th></tr></thead>
            <tbody>
              <tr><td>key</td><td><code>{run.model.key}</code></td></tr>
              <tr><td>sha256</td><td><code>{run.model.sha256}</code></td></tr>
              <tr><td>size</td><td>{run.model.bytes} bytes</td></tr>
              <tr><td>step</td><td>{run.model.step}</td></tr>
              <tr><td>registered</td><td>{run.model.registeredAt}</td></tr>
            </tbody>
          </table>
        ) : null}
        {run.hparams ? (
          <table class="hparams">
            <thead><tr><th>hparam</th><th>value</th></tr></thead>
            <tbody>{Object.entries(run.hparams).map(([k, v]) => <tr><td>{k}</td><td>{String(v)}</td></tr>)}</tbody>
          </table>
        ) : null}
        {await Charts({ run })}
      </Layout>,
    );
  });

  app.get('/:run/charts', async (c) => c.html(await Charts({ run: requireRun(c.req.param('run')) })));

  const imageQuery = z.object({ tag: z.string().min(1).max(256), sample: z.coerce.number().int().min(0).default(0) });
  app.get('/:run/image', async (c) => {
    const run = requireRun(c.req.param('run'));
    const query = imageQuery.safeParse(c.req.query());
    if (!query.success) throw new TrackerError(400, `query: ${query.error.issues[0]?.path.join('.')}: ${query.error.issues[0]?.message}`);
    const image = (await readRunView(logDir, run.id)).images.get(query.data.tag);
    const png = image?.pngs[query.data.sample];
    if (!png) throw new TrackerError(404, `run "${run.id}" has no image tag "${query.data.tag}" sample ${query.data.sample}`);
    return c.body(new Uint8Array(png), 200, { 'Content-Type': 'image/png', 'Cache-Control': 'no-cache' });
  });
  return app;
}
