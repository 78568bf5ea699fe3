// Label writes, from the labeler page (forms with HX-Request: the answer is HTML fragments to swap in) or from API
// clients (JSON in and out):
//   POST /:p/labels {key, class, value: '' | '0' | '1'}    POST /:p/flags {key, flag: exclude | validation, value}
//   POST /:p/undo                                          POST /:p/classes {name}
//   POST /:p/classes/rename {from, to}                     POST /:p/classes/retire {name, retired?: '0' | '1'}
import { Hono, type Context } from 'hono';
import { checkImageKey } from '../store.ts';
import { Card, Counts, History } from '../views.tsx';
import { fromHtmx, type LabelsContext, type LabelsEnv } from './context.ts';
import { addClassBody, flagBody, labelBody, renameBody, retireBody } from './schemas.ts';
import { jsonOrForm } from './validate.ts';

export function labelWrites(ctx: LabelsContext) {
  const { store } = ctx;

  /** The changed card, the counts and the recent changes, swapped in out of band. */
  const cardResponse = (c: Context, projectId: string, key: string) => {
    const classes = store.classes(projectId);
    const row = store.rows(projectId, [key])[0]!;
    return c.html(
      <>
        <Card project={projectId} row={row} classes={classes} probs={store.predictionsFor([row.id]).get(row.id)} />
        <Counts counts={store.counts(projectId)} oob />
        <History entries={store.historyEntries(projectId, { limit: 20 })} oob />
        <div id="status" class="note" hx-swap-oob="true"></div>
      </>,
    );
  };

  const undoResponse = (c: Context, projectId: string, res: NonNullable<ReturnType<typeof store.undo>>) => {
    const classes = store.classes(projectId);
    const row = store.rows(projectId, [res.undone.imageKey])[0]!;
    return c.html(
      <>
        <Card project={projectId} row={row} classes={classes} probs={store.predictionsFor([row.id]).get(row.id)} oob />
        <Counts counts={store.counts(projectId)} oob />
        <History entries={store.historyEntries(projectId, { limit: 20 })} oob />
        <div id="status" class="note" hx-swap-oob="true">
          undid {res.undone.field === 'label' ? res.undone.className : res.undone.field} on {res.undone.imageKey}
        </div>
      </>,
    );
  };

  /** The grid's columns changed: htmx reloads the page; API clients get the class. */
  const classChange = <T extends object>(c: Context, result: T) => {
    if (fromHtmx(c)) {
      c.header('HX-Refresh', 'true');
      return c.text('');
    }
    return c.json(result);
  };

  return new Hono<LabelsEnv>()
    .post('/:project/labels', jsonOrForm(labelBody), (c) => {
      const p = c.var.project;
      const b = c.req.valid('json');
      const res = store.setLabel(p.id, checkImageKey(b.key), b.class, b.value, c.var.writer);
      if (!fromHtmx(c)) return c.json(res);
      return cardResponse(c, p.id, b.key);
    })
    .post('/:project/flags', jsonOrForm(flagBody), (c) => {
      const p = c.var.project;
      const b = c.req.valid('json');
      const res = store.setFlag(p.id, checkImageKey(b.key), b.flag, b.value === '1', c.var.writer);
      if (!fromHtmx(c)) return c.json(res);
      return cardResponse(c, p.id, b.key);
    })
    .post('/:project/undo', (c) => {
      const p = c.var.project;
      const res = store.undo(p.id, c.var.writer);
      if (!fromHtmx(c)) return c.json(res ?? { undone: null });
      if (!res)
        return c.html(
          <div id="status" class="note" hx-swap-oob="true">
            nothing to undo
          </div>,
        );
      return undoResponse(c, p.id, res);
    })
    .post('/:project/classes', jsonOrForm(addClassBody), (c) =>
      classChange(c, store.addClass(c.var.project.id, c.req.valid('json').name)),
    )
    .post('/:project/classes/rename', jsonOrForm(renameBody), (c) => {
      const b = c.req.valid('json');
      return classChange(c, store.renameClass(c.var.project.id, b.from, b.to));
    })
    .post('/:project/classes/retire', jsonOrForm(retireBody), (c) => {
      const b = c.req.valid('json');
      return classChange(c, store.setClassRetired(c.var.project.id, b.name, b.retired === '1'));
    });
}
