// Tells a project's active-learning workflow that its labels changed, so a round starts as soon as enough new labels
// exist instead of at the workflow's next poll. Writes are coalesced per project (one signal per `delayMs` at most,
// carrying the latest count); a project without a running loop, or Temporal being unreachable, is not an error: the
// workflow's own polling remains the fallback. The same client asks a loop for its status and sends the Train page's
// retrain requests (LabelingLoop).
import type { MiddlewareHandler } from 'hono';
import type { Client } from '@temporalio/client';
import {
  activeLearningStatusQuery,
  activeLearningWorkflowId,
  labelsChangedSignal,
  retrainSignal,
  type ActiveLearningStatus,
  type RetrainRequest,
} from '../../contracts/active-learning.ts';
import type { LabelStore } from './store.ts';

/** Routes after which the label count may have changed. */
const LABEL_WRITES = /^\/[^/]+\/(labels|map\/labels(\/undo)?|flags|undo|import\.csv|classes(\/rename|\/retire)?)$/;

/** A project's active-learning workflow, as the labeler's Train page reaches it. */
export interface LabelingLoop {
  /** The running loop's status; undefined when Temporal is not configured or unreachable, or no loop is running. */
  status(project: string): Promise<ActiveLearningStatus | undefined>;
  /** Asks the running loop for a round now; throws LoopUnavailableError when there is none to ask. */
  retrain(project: string, request: RetrainRequest): Promise<void>;
}

export class LoopUnavailableError extends Error {}

/** How long the Train page waits for a loop's status (a query needs a worker to answer it). */
const STATUS_TIMEOUT_MS = 5_000;

export class RoundTrigger implements LabelingLoop {
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly store: LabelStore,
    private readonly client: () => Promise<Client | undefined>,
    private readonly delayMs = 200,
  ) {}

  /** Hono middleware for the label router: notifies after every successful label write. */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      await next();
      if (c.req.method !== 'POST' || c.res.status >= 300) return;
      const path = c.req.path.slice(c.req.path.indexOf('/', 1));
      if (LABEL_WRITES.test(path)) this.notify(decodeURIComponent(path.split('/')[1]!));
    };
  }

  notify(project: string): void {
    if (this.pending.has(project)) return;
    const timer = setTimeout(() => {
      this.pending.delete(project);
      void this.send(project);
    }, this.delayMs);
    timer.unref();
    this.pending.set(project, timer);
  }

  /** Label cells set in the project's classes that are not retired. */
  labelled(project: string): number {
    return this.store.counts(project).reduce((a, c) => a + c.trainPos + c.trainNeg + c.valPos + c.valNeg, 0);
  }

  private async send(project: string): Promise<void> {
    try {
      const client = await this.client();
      if (!client || !this.store.getProject(project)) return;
      await client.workflow
        .getHandle(activeLearningWorkflowId(project))
        .signal(labelsChangedSignal, { labelled: this.labelled(project) });
    } catch {
      // No loop for this project (or Temporal is down): the workflow polls when it runs.
    }
  }

  async status(project: string): Promise<ActiveLearningStatus | undefined> {
    try {
      const handle = await this.runningLoop(project);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), STATUS_TIMEOUT_MS)));
      return await Promise.race([handle.query(activeLearningStatusQuery), timeout]).finally(() => clearTimeout(timer));
    } catch {
      return undefined;
    }
  }

  async retrain(project: string, request: RetrainRequest): Promise<void> {
    await (await this.runningLoop(project)).signal(retrainSignal, request);
  }

  private async runningLoop(project: string) {
    const client = await this.client();
    if (!client)
      throw new LoopUnavailableError('the tracker cannot reach Temporal: set TEMPORAL_ADDRESS where it runs');
    const handle = client.workflow.getHandle(activeLearningWorkflowId(project));
    const running = await handle.describe().then(
      (d) => d.status.name === 'RUNNING',
      () => false,
    );
    if (!running)
      throw new LoopUnavailableError(
        `project ${project} has no running active-learning loop: start it with patchwork label ${project} …`,
      );
    return handle;
  }

  close(): void {
    for (const timer of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }
}
