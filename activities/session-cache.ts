// The training sessions a worker process keeps open between activities, so the next chunk of a run on the same
// worker continues with the model, optimizer, batch stream and tracker client it already has. A session is reused
// only while the step it holds is the step LATEST names in the store; otherwise (another worker trained on, or this
// one failed midway) it is closed and the run restored from the store. At most MAX_CACHED_SESSIONS stay open (or one
// per activity the worker runs at once, if more; see setSessionCacheSize); the least recently used idle one is closed
// (its tfjs memory freed) to make room.
import { latestCheckpointStep } from '../ml/checkpoint.ts';
import { checkpointPrefix } from '../storage/layout.ts';
import { TrainingSession, type SessionDeps } from './training-session.ts';

export const MAX_CACHED_SESSIONS = 2;
let maxSessions = MAX_CACHED_SESSIONS;

/** A worker that runs `concurrentActivities` compute activities at once keeps that many sessions (at least 2). */
export function setSessionCacheSize(concurrentActivities: number): void {
  maxSessions = Math.max(MAX_CACHED_SESSIONS, concurrentActivities);
}

interface Entry {
  session: TrainingSession;
  users: number;
}

/** By run id, least recently used first. */
const entries = new Map<string, Entry>();

async function acquire(deps: SessionDeps, runId: string): Promise<Entry> {
  const latest = await latestCheckpointStep(deps.store, checkpointPrefix(runId));
  const cached = entries.get(runId);
  if (cached && cached.session.step === latest) {
    entries.delete(runId);
    entries.set(runId, cached);
    return cached;
  }
  if (cached) await closeTrainingSession(runId);
  const entry = { session: await TrainingSession.open(deps, runId), users: 0 };
  entries.set(runId, entry);
  return entry;
}

async function evictIdleBeyondBound(): Promise<void> {
  for (const [runId, entry] of entries) {
    if (entries.size <= maxSessions) return;
    if (entry.users === 0) await closeTrainingSession(runId);
  }
}

/**
 * Runs `work` on the run's session and returns only once every checkpoint it took is in the store. A failed
 * activity closes the session: the next one restores from the store.
 */
export async function withTrainingSession<T>(deps: SessionDeps, runId: string, work: (session: TrainingSession) => Promise<T>): Promise<T> {
  const entry = await acquire(deps, runId);
  entry.users++;
  let failed = true;
  try {
    const result = await work(entry.session);
    await entry.session.durable();
    failed = false;
    return result;
  } finally {
    entry.users--;
    if (failed && entry.users === 0 && entries.get(runId) === entry) await closeTrainingSession(runId);
    await evictIdleBeyondBound();
  }
}

export async function closeTrainingSession(runId: string): Promise<void> {
  const entry = entries.get(runId);
  entries.delete(runId);
  await entry?.session.close();
}

/** Run ids with an open session, least recently used first (for tests). */
export function cachedTrainingSessions(): string[] {
  return [...entries.keys()];
}
