import { NativeConnection, Worker, Runtime, type WorkerOptions } from '@temporalio/worker';
import os from 'node:os';
import { join } from 'node:path';
import { TASK_QUEUES, type TaskQueue } from '../contracts/task-queues.ts';
import {
  createActiveLearningActivities,
  createEmbedActivities,
  createIngestActivities,
  createPretrainActivities,
} from '../activities/index.ts';
import type { Settings } from '../config/settings.ts';
import { ensureWorkflowBundle } from './bundle.ts';
import { storageFor } from './dependencies.ts';
import { initBackend } from '../ml/backend.ts';
import { setSessionCacheSize } from '../activities/session-cache.ts';

let runtimeInstalled = false;

function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new (class {
      log(level: string, message: string, meta?: Record<string, unknown>) {
        if (level === 'WARN' || level === 'ERROR') console.error(`[${level}] ${message}`, meta ?? '');
      }
      trace() {}
      debug() {}
      info() {}
      warn(message: string, meta?: Record<string, unknown>) {
        this.log('WARN', message, meta);
      }
      error(message: string, meta?: Record<string, unknown>) {
        this.log('ERROR', message, meta);
      }
    })(),
  });
}

/**
 * One worker per task queue. Workflows run on patchwork-io (they are cheap); the compute queue takes one
 * activity per device at a time so two trainings never fight over a GPU.
 */
export async function createWorker(settings: Settings, queue: TaskQueue): Promise<Worker> {
  installQuietRuntime();
  const connection = await NativeConnection.connect({ address: settings.temporal.address });
  const base: Pick<WorkerOptions, 'connection' | 'namespace' | 'taskQueue' | 'identity'> = {
    connection,
    namespace: settings.temporal.namespace,
    taskQueue: queue,
    identity: `${queue}@${os.hostname()}:${process.pid}`,
  };
  if (queue === TASK_QUEUES.io) {
    return Worker.create({
      ...base,
      workflowBundle: { codePath: await ensureWorkflowBundle(settings.home) },
      activities: allActivities(settings),
      maxConcurrentActivityTaskExecutions: 8,
    });
  }
  await loadComputeBackend();
  setSessionCacheSize(settings.gpuConcurrency);
  return Worker.create({
    ...base,
    activities: allActivities(settings),
    maxConcurrentActivityTaskExecutions: settings.gpuConcurrency,
  });
}

/**
 * Loads the tfjs backend (about a second for native TensorFlow) once when a compute worker starts, not in the first
 * activity of the first run it gets. A backend that does not load is reported by the activities that need it.
 */
async function loadComputeBackend(): Promise<void> {
  try {
    await initBackend({ purpose: 'infer' });
  } catch (error) {
    console.error(`worker: no tfjs backend loaded at start (${(error as Error).message}); compute activities will say why`);
  }
}

/**
 * Both queues register every activity; each workflow picks the queue an activity runs on. Pretraining, embedding and
 * labeling rounds log through the tracker (metrics, images, projectors), spooling to disk while it is away.
 */
function allActivities(settings: Settings) {
  const storage = storageFor(settings);
  const logging = { tracker: settings.tracker, spoolDir: join(settings.home, 'spool') };
  return {
    ...createIngestActivities(storage),
    ...createPretrainActivities({ ...storage, ...logging }),
    ...createEmbedActivities({ ...storage, ...logging }),
    ...createActiveLearningActivities({ store: storage.store, ...logging }),
  };
}
