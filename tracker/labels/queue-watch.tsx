// The labeler page's poll for a new active-learning round: unchanged, it answers with itself (the poll goes on);
// after a new round it also swaps in the queue line and, when the page shows the queue, reloads just the grid from
// the page's own address, so a labeler sees the new queue without reloading the page.
import type { Context } from 'hono';
import { queueInfo } from './queue.ts';
import type { LabelStore } from './store.ts';
import { QueueLine, QueueWatch } from './views.tsx';

export function queueWatch(c: Context, store: LabelStore, projectId: string): Response | Promise<Response> {
  const seen = Number(c.req.query('round') ?? -1);
  const followGrid = c.req.query('grid') === '1';
  const queue = queueInfo(store, projectId);
  const watch = <QueueWatch project={projectId} round={queue?.round} followGrid={followGrid} />;
  if ((queue?.round ?? -1) === seen) return c.html(watch);
  let gridUrl: string | undefined;
  const current = c.req.header('hx-current-url');
  if (followGrid && current) {
    const url = new URL(current, 'http://page');
    if (url.pathname === `/projects/${encodeURIComponent(projectId)}/label`)
      gridUrl = url.pathname + url.search;
  }
  return c.html(
    <>
      {watch}
      <QueueLine project={projectId} queue={queue} oob />
      {gridUrl && (
        <div hx-get={gridUrl} hx-trigger="load" hx-select="#grid" hx-target="#grid" hx-swap="outerHTML"></div>
      )}
    </>,
  );
}
