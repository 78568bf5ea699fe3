// Live workflow status from Temporal for the run pages, when TEMPORAL_ADDRESS answers. Best effort: any failure
// (server down, unknown workflow) returns undefined and the page shows the registry's status instead.
import { lazyTemporalClient, type LazyClient } from './temporal-client.ts';
import type { RunStatus } from './db/schema.ts';

export type LiveStatus = RunStatus | 'terminated' | 'timed out';

const STATUS: Record<string, LiveStatus | undefined> = {
  RUNNING: 'running',
  CONTINUED_AS_NEW: 'running',
  PAUSED: 'paused',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed out',
};

export class TemporalStatus {
  private readonly connect: LazyClient;
  private readonly cache = new Map<string, { at: number; status: LiveStatus | undefined }>();

  constructor(
    address: string | undefined,
    namespace = 'default',
    private readonly ttlMs = 2000,
  ) {
    this.connect = lazyTemporalClient(address, namespace);
  }

  /** Status per workflow id (undefined entries when Temporal is unreachable or does not know the id). */
  async statuses(workflowIds: string[]): Promise<Map<string, LiveStatus | undefined>> {
    const result = new Map<string, LiveStatus | undefined>();
    const client = await this.connect();
    await Promise.all(
      workflowIds.map(async (id) => {
        const hit = this.cache.get(id);
        if (hit && Date.now() - hit.at < this.ttlMs) return result.set(id, hit.status);
        let status: LiveStatus | undefined;
        if (client) {
          try {
            const description = await client.workflow.getHandle(id).describe();
            status = STATUS[description.status.name];
            const pending = description.raw.pendingActivities ?? [];
            if (status === 'running' && pending.some((a) => a.paused)) status = 'paused';
          } catch {
            status = undefined;
          }
        }
        this.cache.set(id, { at: Date.now(), status });
        result.set(id, status);
      }),
    );
    return result;
  }

  async close(): Promise<void> {
    await this.connect.close();
  }
}
