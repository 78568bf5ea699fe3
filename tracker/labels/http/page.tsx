// The labeler page, GET /:p/label. Opened once with ?token=…&labeler=…, it starts a session (a cookie) and redirects
// to the same address without the token.
import { randomInt } from 'node:crypto';
import { Hono } from 'hono';
import { subsetOptions } from '../../../ml/active/query.ts';
import { session, startSession, tokenMatches } from '../auth.ts';
import { gridSortOptions, MAP_SELECTION, QUEUE_SORT } from '../grid.ts';
import { mapInfo } from '../map-store.ts';
import { queueInfo } from '../queue.ts';
import { Page } from '../views.tsx';
import type { LabelsContext, LabelsEnv } from './context.ts';
import { pageQuery } from './schemas.ts';
import { httpError, valid } from './validate.ts';

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export function labelerPage(ctx: LabelsContext) {
  const { store, signer, picker } = ctx;
  return new Hono<LabelsEnv>().get('/:project/label', valid('query', pageQuery), (c) => {
    const p = c.var.project;
    const q = c.req.valid('query');
    if (q.token !== undefined) {
      if (!tokenMatches(q.token, ctx.deps.token)) throw httpError(401, 'wrong token');
      startSession(c, signer, q.labeler ?? 'web', ctx.sessionTtlMs);
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      url.searchParams.delete('labeler');
      return c.redirect(url.pathname + url.search, 303);
    }
    const classes = store.classes(p.id);
    const queue = queueInfo(store, p.id);
    const hasMap = mapInfo(store, p.id) !== undefined;
    const subsets = [...subsetOptions(classes.map((x) => x.name)), ...(hasMap ? [MAP_SELECTION] : [])];
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
      labeler: session(c, signer)?.labeler,
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
}
