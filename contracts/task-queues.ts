// Task queues the workers poll and the clients start workflows on.
export const TASK_QUEUES = {
  /** Compute: training, embedding, fine-tuning. One activity at a time per device by default. */
  gpu: 'patchwork-gpu',
  /** Listing, ingest, exports. */
  io: 'patchwork-io',
} as const;
export type TaskQueue = (typeof TASK_QUEUES)[keyof typeof TASK_QUEUES];
