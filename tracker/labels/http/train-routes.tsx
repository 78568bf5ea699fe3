// The Train page and its htmx endpoints:
//   GET  /:p/train             the page (Model and Train panels, the loop's state, the last round's results)
//   GET  /:p/train/parameters  the head's parameter count for the form's values (the Model panel)
//   GET  /:p/train/watch       the loop's state; with the results out of band once a round has finished since
//   POST /:p/train             a round now, with the form's head and options (a retrain signal to the loop)
// The loop is reached through LabelsDeps.loop (Temporal); the round's losses are read from the runs store.
import { Hono } from 'hono';
import { z } from 'zod';
import { activeLearningWorkflowId, type ActiveLearningStatus } from '../../../contracts/active-learning.ts';
import type { HeadInputShape } from '../../../ml/active/head-parameters.ts';
import { listParts, readPartKeys } from '../../../storage/embeddings.ts';
import { readRoundLosses } from '../../../storage/rounds.ts';
import { probabilityHistograms } from '../probability-histograms.ts';
import { mapInfo } from '../map-store.ts';
import { queueInfo } from '../queue.ts';
import { LoopUnavailableError } from '../round-trigger.ts';
import { parameterCount, retrainRequestOf, trainForm } from '../train-form.ts';
import { Parameters, Results, TrainPage, TrainWatch, type TrainResults } from '../train-view.tsx';
import { fromHtmx, type LabelsContext, type LabelsEnv } from './context.ts';
import { CSP } from './page.tsx';
import { httpError, jsonOrForm, valid } from './validate.ts';

const NO_TEMPORAL = 'training needs the tracker to reach Temporal: set TEMPORAL_ADDRESS where it runs';
const watchQuery = z.object({ rounds: z.coerce.number({ invalid_type_error: 'a round count' }).int() }).strict();

export function trainRoutes(ctx: LabelsContext) {
  const { store } = ctx;
  /** Embedding length (and feature-map shape) per model hash: the first part's, read once. */
  const shapes = new Map<string, Pick<HeadInputShape, 'dim' | 'mapShape'>>();
  /** Each project's loop's embeddings as last seen, for when a status query does not answer in time. */
  const loopModels = new Map<string, string>();

  async function loopState(projectId: string): Promise<{ status?: ActiveLearningStatus; note?: string }> {
    if (!ctx.deps.loop) return { note: NO_TEMPORAL };
    const status = await ctx.deps.loop.status(projectId);
    if (status) loopModels.set(projectId, status.modelHash);
    return status
      ? { status }
      : { note: `no running active-learning loop answers for ${projectId} (patchwork label ${projectId} … starts it)` };
  }

  /** The loop's embeddings (or, without a loop that answers, those it had, or the project's map's) and the classes. */
  async function inputShape(projectId: string, status: ActiveLearningStatus | undefined): Promise<HeadInputShape | undefined> {
    const runs = ctx.deps.runsStore;
    const modelHash = status?.modelHash ?? loopModels.get(projectId) ?? mapInfo(store, projectId)?.modelHash;
    if (!runs || !modelHash) return undefined;
    let shape = shapes.get(modelHash);
    if (!shape) {
      const [first] = await listParts(runs, modelHash);
      if (first === undefined) return undefined;
      const { dim, mapShape } = await readPartKeys(runs, modelHash, first);
      shapes.set(modelHash, (shape = { dim, mapShape }));
    }
    return { ...shape, classes: store.activeClassCount(projectId) };
  }

  async function results(projectId: string, status: ActiveLearningStatus | undefined): Promise<TrainResults> {
    const queue = queueInfo(store, projectId);
    const round = status ? status.last?.round : queue?.round;
    const runs = ctx.deps.runsStore;
    return {
      round,
      losses: round && runs ? await readRoundLosses(runs, activeLearningWorkflowId(projectId), round) : undefined,
      predictionsRound: queue?.round,
      histograms: store.hasPredictions(projectId) ? probabilityHistograms(store, projectId) : undefined,
    };
  }

  return new Hono<LabelsEnv>()
    .get('/:project/train', async (c) => {
      const p = c.var.project;
      const { status, note } = await loopState(p.id);
      c.header('Content-Security-Policy', CSP);
      return c.html(
        <TrainPage project={p.id} title={p.name ?? p.id} status={status} note={note} results={await results(p.id, status)} />,
      );
    })
    // The whole form comes along (hx-include); the training choice is checked and left out.
    .get('/:project/train/parameters', valid('query', trainForm), async (c) => {
      const p = c.var.project;
      const options = retrainRequestOf(c.req.valid('query')).head ?? {};
      const shape = await inputShape(p.id, (await loopState(p.id)).status);
      const classes = store.activeClassCount(p.id);
      return c.html(<Parameters {...parameterCount(options, shape)} dim={shape?.dim} classes={classes} />);
    })
    .get('/:project/train/watch', valid('query', watchQuery), async (c) => {
      const p = c.var.project;
      const { status, note } = await loopState(p.id);
      const watch = <TrainWatch project={p.id} status={status} note={note} />;
      if (!status || status.rounds === c.req.valid('query').rounds) return c.html(watch);
      return c.html(
        <>
          {watch}
          <Results results={await results(p.id, status)} oob />
        </>,
      );
    })
    .post('/:project/train', jsonOrForm(trainForm), async (c) => {
      const p = c.var.project;
      const request = retrainRequestOf(c.req.valid('json'));
      if (!ctx.deps.loop) throw httpError(409, NO_TEMPORAL);
      try {
        await ctx.deps.loop.retrain(p.id, request);
      } catch (error) {
        if (error instanceof LoopUnavailableError) throw httpError(409, error.message);
        throw error;
      }
      if (!fromHtmx(c)) return c.json({ requested: request }, 202);
      const what = `${request.head?.kind ?? 'logistic'} head${request.updatePredictions ? '' : ', predictions kept'}`;
      return c.html(
        <span id="train-status" class="note" data-requested="true">
          round requested ({what}); the loop's state above follows it
        </span>,
      );
    });
}
