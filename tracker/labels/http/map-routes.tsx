// The labeler's map: the points an active-learning round publishes, the page that draws them, each labeler's lasso
// selection (the grid's 'map selection' subset) and labelling a selection at once.
//   PUT  /:p/map            {modelHash, method, keys, xy}   a slice of the map (the first of a new model replaces it)
//   GET  /:p/map/info       {modelHash, method, count, updatedAt}
//   GET  /:p/map/points     ?class=C: {keys, x, y, label, p, uncertainty} for every point (C's label, prediction and
//                           1 - 2|p - 0.5|; -1 where none); &format=bin: the columns but uncertainty in binary
//                           (map-binary.ts)
//   GET  /:p/map            the page
//   GET  /:p/map/selection  {keys}                          POST /:p/map/selection {keys} -> {count}
//   POST /:p/map/labels     {keys, class, value} -> {written, historyIds}: one history row per image
//   POST /:p/map/labels/undo {historyIds}: reverts that batch at once (one undo row per image), if they are still the
//                           labeler's latest changes; otherwise 409 and nothing changes
import { Hono } from 'hono';
import { session } from '../auth.ts';
import { encodeMapColumns } from '../map-binary.ts';
import { mapColumns, mapInfo, putMapSlice, selectionKeys, setSelection } from '../map-store.ts';
import { MapPage } from '../map-view.tsx';
import { checkImageKey } from '../store.ts';
import type { LabelsContext, LabelsEnv } from './context.ts';
import { batchUndoBody, bulkLabelBody, mapBody, mapPointsQuery, selectionBody, selectionQuery } from './map-schemas.ts';
import { CSP } from './page.tsx';
import { httpError, jsonOrForm, valid } from './validate.ts';

// regl (under regl-scatterplot) compiles its WebGL commands with new Function(), so this page alone allows eval; scripts
// still come only from the tracker, and nothing on the page evaluates text it did not write.
const MAP_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-eval'");

const noMap = (project: string) =>
  httpError(404, `project ${project} has no map yet; run a round with \`patchwork retrain ${project}\``);

export function mapRoutes(ctx: LabelsContext) {
  const { store, signer } = ctx;
  const info = (project: string) => {
    const m = mapInfo(store, project);
    if (!m) throw noMap(project);
    return m;
  };
  return new Hono<LabelsEnv>()
    .put('/:project/map', jsonOrForm(mapBody), (c) => {
      const b = c.req.valid('json');
      if (b.xy.length !== b.keys.length * 2)
        throw httpError(400, `xy: ${b.xy.length} numbers for ${b.keys.length} keys; send x, y for each key in order`);
      for (const key of b.keys) checkKey(key);
      return c.json(putMapSlice(store, c.var.project.id, b));
    })
    .get('/:project/map/info', (c) => c.json(info(c.var.project.id)))
    .get('/:project/map/points', valid('query', mapPointsQuery), (c) => {
      const q = c.req.valid('query');
      const cols = mapColumns(store, c.var.project.id, q.class);
      if (!cols) throw noMap(c.var.project.id);
      if (q.format === 'bin') return c.body(encodeMapColumns(cols), 200, { 'Content-Type': 'application/octet-stream' });
      // 1 at p = 0.5, 0 at p = 0 or 1; the binary body leaves it to the page, which derives it from p.
      return c.json({ ...cols, uncertainty: cols.p.map((p) => (p < 0 ? -1 : 1 - 2 * Math.abs(p - 0.5))) });
    })
    .get('/:project/map', (c) => {
      const p = c.var.project;
      const m = info(p.id);
      c.header('Content-Security-Policy', MAP_CSP);
      return c.html(
        <MapPage project={p.id} title={p.name} labeler={session(c, signer)?.labeler} classes={store.classes(p.id)} info={m} />,
      );
    })
    // A labeler's own selection; API clients name whose (default: 'api', the actor of bearer writes).
    .get('/:project/map/selection', valid('query', selectionQuery), (c) => {
      const who = c.req.valid('query').labeler ?? session(c, signer)?.labeler ?? 'api';
      return c.json({ keys: selectionKeys(store, c.var.project.id, who) });
    })
    .post('/:project/map/selection', jsonOrForm(selectionBody), (c) => {
      const keys = c.req.valid('json').keys.map(checkKey);
      return c.json({ count: setSelection(store, c.var.project.id, c.var.writer, keys) });
    })
    .post('/:project/map/labels', jsonOrForm(bulkLabelBody), (c) => {
      const b = c.req.valid('json');
      const p = c.var.project;
      const value = b.value === '' ? null : (Number(b.value) as 0 | 1);
      const keys = b.keys.map(checkKey);
      const historyIds = store.write(() => keys.map((key) => store.setLabel(p.id, key, b.class, value, c.var.writer).historyId));
      return c.json({ written: historyIds.length, historyIds });
    })
    .post('/:project/map/labels/undo', jsonOrForm(batchUndoBody), (c) => {
      const p = c.var.project;
      const batch = new Set(c.req.valid('json').historyIds);
      // The ordinary undo, once per image: each must revert a row of this batch, else the whole undo is rolled back.
      const undone = store.write(() =>
        [...batch].map(() => {
          const res = store.undo(p.id, c.var.writer);
          if (!res || !batch.has(res.undone.id))
            throw httpError(409, 'historyIds: these are no longer your latest changes; undo your later ones first');
          return res.undone.id;
        }),
      );
      return c.json({ undone: undone.length });
    });
}

function checkKey(key: string): string {
  try {
    return checkImageKey(key);
  } catch (error) {
    throw httpError(400, `keys: ${(error as Error).message}`);
  }
}
