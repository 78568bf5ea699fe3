// Hono JSX views of the labeler (auto-escaped). A card's buttons and checkboxes carry data attributes only: labeler.js
// handles clicks and keys at the document level, posts the write and swaps in the one card the server sends back.
import { QUEUE_SORT } from './grid.ts';
import type { QueueInfo } from './queue.ts';
import type { ClassCounts, ClassInfo, HistoryEntry, ImageRow } from './store.ts';
import { createHash } from 'node:crypto';

export function cardId(key: string): string {
  return `card-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

const base = (project: string) => `/projects/${encodeURIComponent(project)}`;
export const imageUrl = (project: string, key: string) =>
  `${base(project)}/images/${key.split('/').map(encodeURIComponent).join('/')}`;

export function Card(props: {
  project: string;
  row: ImageRow;
  classes: ClassInfo[];
  probs?: Map<number, number>;
  oob?: boolean;
}) {
  const { project, row, classes, probs } = props;
  return (
    <div
      class="card"
      id={cardId(row.key)}
      data-key={row.key}
      {...(props.oob ? { 'hx-swap-oob': 'true' } : {})}
    >
      <img src={imageUrl(project, row.key)} alt={row.key} loading="lazy" />
      <div class="key">{row.key}</div>
      <div class="flags">
        <label>
          <input type="checkbox" class="exclude" data-flag="exclude" checked={row.exclude} />
          exclude
        </label>
        <label>
          <input type="checkbox" class="validation" data-flag="validation" checked={row.validation} />
          validation
        </label>
      </div>
      {classes.map((c, i) => {
        const v = row.labels.get(c.id);
        const cur = v === undefined ? '' : String(v);
        const p = probs?.get(c.id);
        return (
          <div class="cls" data-class-index={String(i)} data-class={c.name} data-value={cur}>
            <span class="name" title={c.name}>
              {i < 9 ? `${i + 1}. ` : ''}
              {c.name}
            </span>
            <span class="p" title="predicted probability">
              {p === undefined ? '' : p.toFixed(2)}
            </span>
            {(['', '0', '1'] as const).map((b) => (
              <button
                type="button"
                data-v={b}
                class={cur === b ? 'on' : ''}
                title={b === '' ? 'unknown' : b === '1' ? 'yes' : 'no'}
              >
                {b === '' ? '?' : b === '1' ? 'yes' : 'no'}
              </button>
            ))}
          </div>
        );
      })}
    </div>
  );
}

export function Counts(props: { counts: ClassCounts[]; oob?: boolean }) {
  return (
    <table id="counts" {...(props.oob ? { 'hx-swap-oob': 'true' } : {})}>
      <tr>
        <th>class</th>
        <th>train yes</th>
        <th>train no</th>
        <th>val yes</th>
        <th>val no</th>
      </tr>
      {props.counts.map((c) => (
        <tr data-class={c.name}>
          <td>{c.name}</td>
          <td>{c.trainPos}</td>
          <td>{c.trainNeg}</td>
          <td>{c.valPos}</td>
          <td>{c.valNeg}</td>
        </tr>
      ))}
    </table>
  );
}

const show = (v: number | null) => (v === null ? '?' : String(v));

export function History(props: { entries: HistoryEntry[]; oob?: boolean }) {
  return (
    <table id="history" {...(props.oob ? { 'hx-swap-oob': 'true' } : {})}>
      <tr>
        <th>who</th>
        <th>image</th>
        <th>what</th>
        <th>old → new</th>
      </tr>
      {props.entries.map((e) => (
        <tr class="hist" data-actor={e.actor}>
          <td>{e.actor}</td>
          <td>{e.imageKey}</td>
          <td>
            {e.field === 'label' ? e.className : e.field}
            {e.undoes !== null ? ' (undo)' : ''}
          </td>
          <td>
            {show(e.oldValue)} → {show(e.newValue)}
          </td>
        </tr>
      ))}
    </table>
  );
}

/** The published queue's round, size and sort (empty before the first round). */
export function QueueLine(p: { project: string; queue?: QueueInfo; oob?: boolean }) {
  return (
    <div id="queue-info" hx-swap-oob={p.oob ? 'true' : undefined}>
      {p.queue && (
        <>
          active-learning queue: round <span class="round">{String(p.queue.round)}</span>,{' '}
          {String(p.queue.size)} images ranked by {p.queue.sort}
          {p.queue.round > 1 && (
            <>
              {' '}
              (<a href={`${base(p.project)}/rounds/${p.queue.round}`}>what changed</a>)
            </>
          )}
        </>
      )}
    </div>
  );
}

/**
 * Asks every 2 s whether a newer round was published; the answer swaps in the new queue line and, on a page showing
 * the queue, the new grid (queue-watch.tsx).
 */
export function QueueWatch(p: { project: string; round?: number; followGrid: boolean }) {
  const query = `round=${p.round ?? -1}${p.followGrid ? '&grid=1' : ''}`;
  return (
    <div
      id="queue-watch"
      hx-get={`${base(p.project)}/queue/watch?${query}`}
      hx-trigger="every 2s"
      hx-swap="outerHTML"
    ></div>
  );
}

export interface PageProps {
  project: string;
  title: string;
  labeler: string | undefined;
  subset: string;
  sort: string;
  dim: number;
  subsets: string[];
  sorts: string[];
  /** The project's active-learning queue, when one has been published. */
  queue?: QueueInfo;
  rows: ImageRow[];
  classes: ClassInfo[];
  retired: ClassInfo[];
  probs: Map<number, Map<number, number>>;
  counts: ClassCounts[];
  history: HistoryEntry[];
  note?: string;
}

export function Page(p: PageProps) {
  const b = base(p.project);
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>{`label · ${p.title}`}</title>
        <link rel="stylesheet" href="/projects/_static/labeler.css" />
        <script src="/projects/_static/htmx.min.js"></script>
        <script src="/projects/_static/labeler.js"></script>
      </head>
      <body data-base={b}>
        <header>
          <h1>{p.title}</h1>
          <form method="get" action={`${b}/label`}>
            <label>
              Subset by{' '}
              <select name="subset">
                {p.subsets.map((s) => (
                  <option value={s} selected={s === p.subset}>
                    {s}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Sort by{' '}
              <select name="sort">
                {p.sorts.map((s) => (
                  <option value={s} selected={s === p.sort}>
                    {s}
                  </option>
                ))}
              </select>
            </label>
            <label>
              grid <input type="number" name="dim" min="1" max="8" value={String(p.dim)} style="width:3rem" />
            </label>
            <button id="sample" type="submit">
              Sample
            </button>
          </form>
          <QueueLine project={p.project} queue={p.queue} />
          <QueueWatch project={p.project} round={p.queue?.round} followGrid={p.sort === QUEUE_SORT} />
          <button id="undo" type="button">
            Undo my last change
          </button>{' '}
          <a href={`${b}/export.csv`}>export CSV</a> <a href={`${b}/map`}>map</a>{' '}
          <a href={`${b}/train`}>model &amp; training</a>{' '}
          <span>labeling as {p.labeler ?? '(no token: read only)'}</span>
          <div id="status" class="note">
            {p.note ?? ''}
          </div>
        </header>
        <main>
          <div
            id="grid"
            data-dim={String(p.dim)}
            style={`grid-template-columns: repeat(${p.dim}, minmax(14rem, 18rem))`}
          >
            {p.rows.map((row) => (
              <Card project={p.project} row={row} classes={p.classes} probs={p.probs.get(row.id)} />
            ))}
          </div>
          <div class="panel">
            <h2>Labels per class</h2>
            <Counts counts={p.counts} />
            <h2>Classes</h2>
            <form hx-post={`${b}/classes`} hx-swap="none">
              <input type="text" name="name" placeholder="new class" required />
              <button type="submit">add</button>
            </form>
            <form hx-post={`${b}/classes/rename`} hx-swap="none">
              <select name="from">
                {p.classes.map((c) => (
                  <option value={c.name}>{c.name}</option>
                ))}
              </select>
              <input type="text" name="to" placeholder="new name" required />
              <button type="submit">rename</button>
            </form>
            <form hx-post={`${b}/classes/retire`} hx-swap="none">
              <select name="name">
                {p.classes.map((c) => (
                  <option value={c.name}>{c.name}</option>
                ))}
              </select>
              <input type="hidden" name="retired" value="1" />
              <button type="submit">retire</button>
            </form>
            {p.retired.length > 0 && (
              <form hx-post={`${b}/classes/retire`} hx-swap="none">
                <select name="name">
                  {p.retired.map((c) => (
                    <option value={c.name}>{c.name}</option>
                  ))}
                </select>
                <input type="hidden" name="retired" value="0" />
                <button type="submit">restore</button>
              </form>
            )}
            <h2>Keyboard</h2>
            <ul>
              <li>
                <kbd>←</kbd> <kbd>→</kbd> <kbd>↑</kbd> <kbd>↓</kbd> select an image (red frame); a click
                selects too
              </li>
              <li>
                <kbd>1</kbd>…<kbd>9</kbd> cycle class 1…9 of the selected image: ? → yes → no → ?
              </li>
              <li>
                <kbd>x</kbd> toggle exclude, <kbd>v</kbd> toggle validation
              </li>
              <li>
                <kbd>u</kbd> or <kbd>z</kbd> undo your last change, <kbd>n</kbd> new sample
              </li>
            </ul>
            <h2>Recent changes</h2>
            <History entries={p.history} />
          </div>
        </main>
      </body>
    </html>
  );
}
