// Waits until a project's active-learning workflow has finished `round` rounds and is waiting again.
import type { WorkflowHandle } from '@temporalio/client';
import { activeLearningStatusQuery, type ActiveLearningStatus } from '../../contracts/active-learning.ts';
import { pollUntil } from './tensorboard.ts';

export const untilRound = (handle: WorkflowHandle, round: number): Promise<ActiveLearningStatus> =>
  pollUntil(
    `round ${round}`,
    async () => {
      const s = await handle.query(activeLearningStatusQuery);
      return s.rounds >= round && s.phase === 'waiting' ? s : undefined;
    },
    180_000,
  );
