// The label store's JSON API: projects, their images, classes and history, and what the active-learning rounds
// publish (predictions, the queue).
//   GET  /                      {projects}               POST /                     {id, name?, root?} -> project
//   POST /:p/images             {images: [{key, viewKey?}]} -> {added}
//   PUT  /:p/predictions        {keys, classes, probs}   PUT  /:p/queue             {round, sort, keys}
//   GET  /:p/queue              the queue with its keys  GET  /:p/queue/watch       the labeler's poll (HTML)
//   GET  /:p/classes            {classes: [{name, retired}]}
//   GET  /:p/history?limit=100  {history}
import { Hono } from 'hono';
import { queueInfo, queueKeys, setQueue } from '../queue.ts';
import { queueWatch } from '../queue-watch.tsx';
import { isLocationRoot } from '../image-sources.ts';
import type { LabelsContext, LabelsEnv } from './context.ts';
import { historyQuery, imagesBody, predictionsBody, projectBody, queueBody } from './schemas.ts';
import { httpError, jsonOrForm, valid } from './validate.ts';

export function projectsApi(ctx: LabelsContext) {
  const { store, sources } = ctx;
  return (
    new Hono<LabelsEnv>()
      .get('/', (c) => c.json({ projects: store.listProjects() }))
      .post('/', jsonOrForm(projectBody), async (c) => {
        const b = c.req.valid('json');
        if (b.root && isLocationRoot(b.root) && !c.var.writerHasToken) {
          throw httpError(
            403,
            `root ${JSON.stringify(b.root)}: a project with a folder or bucket of its own is registered by \`patchwork label\` ` +
              "(with the tracker's token); from the labeler, give a root under the tracker's image folder (PATCHWORK_IMAGES)",
          );
        }
        if (b.root) await sources.check(b.root);
        return c.json(store.createProject(b.id, { name: b.name, root: b.root }), 201);
      })
      .post('/:project/images', jsonOrForm(imagesBody), (c) =>
        c.json({ added: store.addImages(c.var.project.id, c.req.valid('json').images) }),
      )
      .put('/:project/predictions', jsonOrForm(predictionsBody), (c) => {
        const b = c.req.valid('json');
        if (b.probs.length !== b.keys.length) throw httpError(400, 'probs needs one row per key');
        store.setPredictions(c.var.project.id, b.keys, b.classes, b.probs);
        return c.json({ ok: true as const });
      })
      .put('/:project/queue', jsonOrForm(queueBody), (c) => c.json(setQueue(store, c.var.project.id, c.req.valid('json'))))
      .get('/:project/queue/watch', (c) => queueWatch(c, store, c.var.project.id))
      .get('/:project/queue', (c) => {
        const p = c.var.project;
        const info = queueInfo(store, p.id);
        if (!info) throw httpError(404, `project ${p.id} has no active-learning queue yet`);
        return c.json({ ...info, keys: queueKeys(store, p.id) });
      })
      // Read by the active-learning activities: retired classes are neither trained nor predicted.
      .get('/:project/classes', (c) => {
        const classes = store.classes(c.var.project.id, { includeRetired: true });
        return c.json({ classes: classes.map((x) => ({ name: x.name, retired: x.retired })) });
      })
      .get('/:project/history', valid('query', historyQuery), (c) =>
        c.json({ history: store.historyEntries(c.var.project.id, { limit: c.req.valid('query').limit }) }),
      )
  );
}
