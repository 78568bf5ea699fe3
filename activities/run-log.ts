// A pretraining run's logging through the tracker (never to local files), so a worker on another machine needs only
// the tracker's URL and token. The run is continued with skipLogged: steps a killed worker logged after its last
// checkpoint are re-sent by the next worker and skipped by the tracker (training is deterministic from a checkpoint,
// so they are the same values).
import { PRETRAIN_METRIC_TAGS, pretrainHparamNames } from '../ml/methods/hparam-names.ts';
import { encodePng } from '../tensorboard-format/index.ts';
import { TrackerClient } from '../tracker-client/client.ts';

export interface TrackerSettings {
  url: string;
  token?: string;
}

/** How long an activity waits for the tracker to acknowledge its logs before it carries on (they stay queued). */
export const LOG_FLUSH_TIMEOUT_MS = 120_000;

export class RunLog {
  private client?: TrackerClient;
  private starting?: Promise<TrackerClient>;

  constructor(
    private readonly runId: string,
    private readonly tracker: TrackerSettings,
    private readonly hparams: () => Record<string, string | number | boolean>,
    private readonly spoolDir?: string,
  ) {}

  /**
   * The run's tracker client, started on first use (once for every caller waiting meanwhile); fails clearly when no
   * tracker is configured or reachable, and the next call tries again.
   */
  open(): Promise<TrackerClient> {
    if (this.client) return Promise.resolve(this.client);
    if (!this.starting) {
      this.starting = this.start().finally(() => (this.starting = undefined));
      this.starting.catch(() => {}); // the callers of open() get the error; an early start nobody awaits must not go unhandled
    }
    return this.starting;
  }

  private async start(): Promise<TrackerClient> {
    const { url, token } = this.tracker;
    const runId = this.runId;
    if (!url || !token) {
      throw new Error(
        `pretraining run ${runId} logs through the tracker, but this worker has no tracker ${url ? 'token' : 'URL'}; ` +
          'start the services with `patchwork up`, or set PATCHWORK_TRACKER_URL and PATCHWORK_TOKEN for the worker',
      );
    }
    try {
      const { client } = await TrackerClient.start({
        url,
        token,
        run: runId,
        workflowId: runId,
        skipLogged: true,
        hparams: this.hparams(),
        // The same columns for every pretraining run: TensorBoard shows the first experiment it finds.
        experiment: { hparams: pretrainHparamNames(), metrics: PRETRAIN_METRIC_TAGS },
        spoolDir: this.spoolDir,
        startTimeoutMs: 60_000,
      });
      this.client = client;
      return client;
    } catch (error) {
      throw new Error(`pretraining run ${runId}: cannot start logging to the tracker: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Waits (bounded) until the tracker has everything logged so far. Past the bound training goes on and the logs are
   * put in the client's on-disk spool, so a worker killed during a tracker outage loses none of them: its successor on
   * this machine sends them when the tracker is back.
   */
  async flush(): Promise<void> {
    const client = this.client;
    if (!client) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), LOG_FLUSH_TIMEOUT_MS)));
    try {
      const outcome = await Promise.race([client.flush().then(() => 'flushed' as const), timeout]);
      if (outcome === 'timeout') {
        client.persist();
        console.warn(`pretraining run ${this.runId}: the tracker did not acknowledge logs within ${LOG_FLUSH_TIMEOUT_MS} ms; training goes on, logs are spooled to disk until it answers`);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** A scalar for the tracker if this log is open; never opens it (for values that may arrive after the run's log ended). */
  scalarIfOpen(tag: string, step: number, value: number): void {
    this.client?.scalar(tag, step, value);
  }

  async image(tag: string, step: number, image: { data: Uint8Array; height: number; width: number }): Promise<void> {
    (await this.open()).image(tag, step, await encodePng({ ...image, channels: 3 }, tag));
  }

  /** Registers the exported model and ends the tracker run. */
  async finish(model: { key: string; sha256: string; bytes: number; step: number }): Promise<void> {
    const client = await this.open();
    await client.registerModel(model);
    await client.close({ status: 'completed', step: model.step, timeoutMs: LOG_FLUSH_TIMEOUT_MS });
    this.client = undefined;
  }

  /** Hands unsent logs to the spool (a later session of the run sends them). */
  async close(): Promise<void> {
    const client = this.client ?? (await this.starting?.catch(() => undefined));
    this.client = undefined;
    await client?.close({ timeoutMs: 10_000 }).catch((error: Error) => console.warn(`pretraining run ${this.runId}: ${error.message}`));
  }
}
