/**
 * Workflow tests without ML, storage or a tracker: a Temporal dev server on a free port, and workers on both task
 * queues whose activities are stubs that record their inputs. One environment per test file (one server, one workflow
 * bundle); the tests of a file run one after another and each installs its own stubs with `env.stub(...)`.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTemporalServer, type TemporalServer } from '../../cli/services/temporal.ts';
import { freePort } from '../../cli/services/process.ts';
import { TASK_QUEUES } from '../../contracts/task-queues.ts';
import { ensureWorkflowBundle } from '../../worker/bundle.ts';

const { EventType } = proto.temporal.api.enums.v1;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyActivity = (input: any) => unknown;
type ActivityMap = Record<string, AnyActivity>;

export interface RecordedCall {
  name: string;
  input: unknown;
}

/** Stub activities that record every call; `hold` makes calls of one activity wait until the test opens the gate. */
export class StubActivities<T extends object> {
  readonly calls: RecordedCall[] = [];
  private readonly gates = new Map<string, Promise<void>>();
  private readonly waiters: { name: string; count: number; resolve: (input: unknown) => void }[] = [];

  constructor(private readonly impls: Partial<T>) {}

  async invoke(name: string, input: unknown): Promise<unknown> {
    const impl = (this.impls as ActivityMap)[name];
    if (!impl) throw ApplicationFailure.nonRetryable(`this test has no stub for activity ${name}`, 'NoStubError');
    this.calls.push({ name, input });
    for (const waiter of this.waiters.filter((w) => w.name === name && w.count === this.count(name))) {
      waiter.resolve(input);
    }
    await this.gates.get(name);
    return impl(input);
  }

  /** Inputs of every call of `name`, in call order (retries included). */
  inputsOf<K extends keyof T & string>(name: K): ActivityInput<T, K>[] {
    return this.calls.filter((c) => c.name === name).map((c) => c.input as ActivityInput<T, K>);
  }

  /** Names of the activities called, in order. */
  names(): string[] {
    return this.calls.map((c) => c.name);
  }

  /** Resolves with the input of the `count`-th call of `name` once that call has started. */
  called<K extends keyof T & string>(name: K, count = 1): Promise<ActivityInput<T, K>> {
    const made = this.inputsOf(name);
    if (made.length >= count) return Promise.resolve(made[count - 1]!);
    return new Promise((resolve) => this.waiters.push({ name, count, resolve: resolve as (input: unknown) => void }));
  }

  /** Calls of `name` made from now on wait (after being recorded) until the returned function is called. */
  hold(name: keyof T & string): () => void {
    let open!: () => void;
    this.gates.set(name, new Promise<void>((resolve) => (open = resolve)));
    return () => {
      this.gates.delete(name);
      open();
    };
  }

  private count(name: string): number {
    return this.calls.filter((c) => c.name === name).length;
  }
}

type ActivityInput<T, K extends keyof T> = T[K] extends (input: infer I) => unknown ? I : never;

export interface WorkflowEnv {
  client: Client;
  /** Installs the stubs that the workers' activities call until the next `stub`. */
  stub<T extends object>(impls: Partial<T>): StubActivities<T>;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

/**
 * The SDK's own logger prints every worker state change; keep warnings and errors on one line each, without the
 * compute worker's expected notice that it registers no workflows.
 */
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const print = (level: string) => (message: string, meta?: Record<string, unknown>) => {
    if (message.startsWith('No workflows registered')) return;
    const about = [meta?.activityType ?? meta?.workflowType, (meta?.error as Error | undefined)?.message].filter(Boolean);
    console.error(`[${level}] ${message}${about.length > 0 ? ` (${about.join(': ')})` : ''}`);
  };
  const noop = () => {};
  Runtime.install({
    logger: {
      log: (level, message, meta) => (level === 'WARN' || level === 'ERROR' ? print(level)(message, meta) : undefined),
      trace: noop,
      debug: noop,
      info: noop,
      warn: print('WARN'),
      error: print('ERROR'),
    },
  });
}

/**
 * Starts the dev server and one worker per task queue. `activityNames` are every activity the workflows under test
 * may call: the workers register them once, and each forwards to the stubs installed last.
 */
export async function startWorkflowEnv(activityNames: readonly string[]): Promise<WorkflowEnv> {
  installQuietRuntime();
  const home = await mkdtemp(join(tmpdir(), 'patchwork-workflow-test-'));
  let server: TemporalServer | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: Error) => console.error(`cleanup: ${error.message}`));
    await server?.process.stop('SIGTERM', 5_000);
    await rm(home, { recursive: true, force: true });
  };
  try {
    const [started, bundlePath] = await Promise.all([
      (async () => startTemporalServer({ port: await freePort(), logDir: join(home, 'logs') }))(),
      ensureWorkflowBundle(home),
    ]);
    server = started;
    let current: StubActivities<object> = new StubActivities({});
    const activities = Object.fromEntries(activityNames.map((name) => [name, (input: unknown) => current.invoke(name, input)]));

    const workerConnection = await NativeConnection.connect({ address: server.address });
    cleanups.push(() => workerConnection.close());
    const workers = await Promise.all([
      Worker.create({ connection: workerConnection, taskQueue: TASK_QUEUES.io, workflowBundle: { codePath: bundlePath }, activities }),
      Worker.create({ connection: workerConnection, taskQueue: TASK_QUEUES.gpu, activities }),
    ]);
    const running = workers.map((worker) => worker.run());
    cleanups.push(async () => {
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await Promise.all(running);
    });

    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    return {
      client: new Client({ connection }),
      stub<T extends object>(impls: Partial<T>) {
        const stubs = new StubActivities<T>(impls);
        current = stubs as StubActivities<object>;
        return stubs;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The ActivityTaskScheduled events of a workflow run's history, by activity name, in order. */
export async function scheduledActivities(handle: WorkflowHandle): Promise<{ name: string; heartbeatTimeoutMs: number | undefined }[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? [])
    .filter((event: HistoryEvent) => event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    .map((event: HistoryEvent) => {
      const attributes = event.activityTaskScheduledEventAttributes!;
      const timeout = attributes.heartbeatTimeout;
      return {
        name: attributes.activityType?.name ?? '',
        heartbeatTimeoutMs: timeout ? Number(timeout.seconds ?? 0) * 1000 + Math.round((timeout.nanos ?? 0) / 1e6) : undefined,
      };
    });
}

/** Whether a run's history ends with continue-as-new (the run handed its state to a new run). */
export async function continuedAsNew(handle: WorkflowHandle): Promise<boolean> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.at(-1)?.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW;
}
