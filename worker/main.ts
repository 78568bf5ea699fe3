/**
 * Worker process: `node --import tsx worker/main.ts [--queue patchwork-io|patchwork-gpu|all]`.
 * Shuts down gracefully on SIGTERM/SIGINT (the SDK finishes or cancels running activities first).
 */
import { TASK_QUEUES, type TaskQueue } from '../contracts/task-queues.ts';
import { loadSettings } from '../config/settings.ts';
import { createWorker } from './worker.ts';

function queuesFromArgs(argv: string[]): TaskQueue[] {
  const i = argv.indexOf('--queue');
  const value = i >= 0 ? argv[i + 1] : 'all';
  const known = Object.values(TASK_QUEUES) as string[];
  if (value === 'all') return Object.values(TASK_QUEUES);
  if (!known.includes(value)) {
    throw new Error(`--queue ${value} is not a task queue; use one of ${known.join(', ')} or all`);
  }
  return [value as TaskQueue];
}

const settings = loadSettings();
const queues = queuesFromArgs(process.argv.slice(2));
const workers = await Promise.all(queues.map((queue) => createWorker(settings, queue)));
console.log(`worker ${process.pid} polling ${queues.join(', ')} on ${settings.temporal.address}`);
await Promise.all(workers.map((worker) => worker.run()));
console.log(`worker ${process.pid} stopped`);
