// The project's current active-learning queue, as the active-learning workflow publishes it after each round
// (PUT /projects/:project/queue): the round, the sort that ranked it, and the image keys in rank order.
import { LabelStoreError, type LabelStore } from './store.ts';

export interface QueueInfo {
  round: number;
  sort: string;
  size: number;
  updatedAt: number;
}

/** How many unknown or repeated keys an error message names before it only counts the rest. */
const NAMED_IN_ERRORS = 20;

function listed(keys: string[]): string {
  const shown = keys.slice(0, NAMED_IN_ERRORS).map((k) => JSON.stringify(k));
  return keys.length > NAMED_IN_ERRORS
    ? `${shown.join(', ')} and ${keys.length - NAMED_IN_ERRORS} more`
    : shown.join(', ');
}

/** Replaces the project's queue. Every key must be an image of the project, each at most once; nothing changes if not. */
export function setQueue(
  store: LabelStore,
  projectId: string,
  queue: { round: number; sort: string; keys: string[] },
): QueueInfo {
  store.project(projectId);
  if (!Number.isInteger(queue.round) || queue.round < 0)
    throw new LabelStoreError(`round must be a whole number >= 0, got ${JSON.stringify(queue.round)}`);
  const seen = new Set<string>();
  const repeated = queue.keys.filter((k) => (seen.has(k) ? true : (seen.add(k), false)));
  if (repeated.length > 0)
    throw new LabelStoreError(
      `keys: each image may appear once; repeated: ${listed([...new Set(repeated)])}`,
    );
  return store.write(() => {
    const lookup = store.stmt('SELECT id FROM label_images WHERE project_id = ? AND key = ?');
    const ids: number[] = [];
    const unknown: string[] = [];
    for (const key of queue.keys) {
      const row = lookup.get(projectId, key) as { id: number } | undefined;
      if (row) ids.push(row.id);
      else unknown.push(key);
    }
    if (unknown.length > 0)
      throw new LabelStoreError(`keys: not images of project ${projectId}: ${listed(unknown)}`);
    const info: QueueInfo = { round: queue.round, sort: queue.sort, size: ids.length, updatedAt: Date.now() };
    store.stmt('DELETE FROM label_queue_items WHERE project_id = ?').run(projectId);
    store
      .stmt(
        `INSERT INTO label_queues (project_id, round, sort, size, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (project_id) DO UPDATE SET round = excluded.round, sort = excluded.sort, size = excluded.size,
           updated_at = excluded.updated_at`,
      )
      .run(projectId, info.round, info.sort, info.size, info.updatedAt);
    const insert = store.stmt('INSERT INTO label_queue_items (project_id, rank, image_id) VALUES (?, ?, ?)');
    ids.forEach((id, rank) => insert.run(projectId, rank, id));
    return info;
  });
}

export function queueInfo(store: LabelStore, projectId: string): QueueInfo | undefined {
  return store
    .stmt('SELECT round, sort, size, updated_at AS updatedAt FROM label_queues WHERE project_id = ?')
    .get(projectId) as QueueInfo | undefined;
}

/** The queue's keys in rank order. */
export function queueKeys(store: LabelStore, projectId: string): string[] {
  return (
    store
      .stmt(
        `SELECT i.key AS key FROM label_queue_items q JOIN label_images i ON i.id = q.image_id
          WHERE q.project_id = ? ORDER BY q.rank`,
      )
      .all(projectId) as { key: string }[]
  ).map((r) => r.key);
}
