import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import sharp from 'sharp';
import { connectClient } from '../cli/temporal-client.ts';
import { ingestWorkflow } from '../workflows/index.ts';
import { TASK_QUEUES } from '../contracts/task-queues.ts';
import { ingestProgressQuery } from '../contracts/ingest.ts';
import { openStorage } from '../storage/index.ts';
import { readManifest } from '../storage/manifest.ts';
import { writeFiles, type FixtureFile } from './helpers/images.ts';
import { startStack, type TestStack } from './helpers/stack.ts';

/** Large flat PNGs: tiny files that still take tens of milliseconds each to decode, so a chunk lasts seconds. */
async function slowImages(count: number): Promise<FixtureFile[]> {
  const bytes = await sharp({ create: { width: 8000, height: 6000, channels: 3, background: '#3366aa' } })
    .png({ compressionLevel: 9 })
    .toBuffer();
  return Array.from({ length: count }, (_, i) => ({ key: `img/${String(i).padStart(4, '0')}.png`, bytes }));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function manifestKeys(stack: TestStack, runId: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const entry of readManifest(openStorage(stack.settings.store), runId)) keys.push(entry.key);
  return keys;
}

describe('ingest survives a killed worker', () => {
  let stack: TestStack;
  let files: FixtureFile[];
  before(async () => {
    stack = await startStack({ temporal: true });
    files = await slowImages(90);
    await writeFiles(join(stack.home, 'images'), files);
  });
  after(async () => stack?.stop());

  test('SIGKILL mid-inspection: a new worker finishes, each image once in the manifest', async () => {
    const first = await stack.startWorker();
    const client = await connectClient(stack.settings);
    const handle = await client.workflow.start(ingestWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: 'ingest-sigkill',
      args: [{ source: join(stack.home, 'images'), chunkSize: 45, parallelChunks: 1, heartbeatTimeoutMs: 2_000 }],
    });
    await until('an inspection in progress', async () => {
      const description = await handle.describe();
      const pending = description.raw.pendingActivities ?? [];
      return pending.some((a) => a.activityType?.name === 'inspectFiles' && a.heartbeatDetails) ? true : undefined;
    });
    first.child.kill('SIGKILL');
    await first.exited;

    await stack.startWorker();
    const summary = await handle.result();
    assert.equal(summary.counts.files, files.length);
    assert.equal(summary.counts.images, files.length);
    const keys = await manifestKeys(stack, summary.runId);
    assert.equal(keys.length, files.length, 'no image twice');
    assert.deepEqual([...keys].sort(), files.map((f) => f.key).sort());

    const retried = [];
    for (const event of (await handle.fetchHistory()).events ?? []) {
      const attempt = event.activityTaskStartedEventAttributes?.attempt ?? 0;
      if (attempt >= 2) retried.push(attempt);
    }
    assert.ok(retried.length > 0, 'an inspection was retried after the kill');
  });
});

describe('ingest survives a Temporal server restart', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startStack({ temporal: true, persistTemporal: true });
    await writeFiles(join(stack.home, 'images'), await slowImages(60));
  });
  after(async () => stack?.stop());

  test('stop the dev server mid-run, start it on the same DB: the run completes', async () => {
    await stack.startWorker();
    const client = await connectClient(stack.settings);
    const handle = await client.workflow.start(ingestWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: 'ingest-restart',
      args: [{ source: join(stack.home, 'images'), chunkSize: 10, parallelChunks: 1, heartbeatTimeoutMs: 5_000 }],
    });
    await until('some progress', async () => ((await handle.query(ingestProgressQuery)).inspected >= 10 ? true : undefined));
    await stack.restartTemporal();
    const progressAfter = await until('the server to answer again', () => handle.query(ingestProgressQuery));
    assert.ok(progressAfter.inspected >= 10, 'state recorded before the restart survived it');
    const summary = await handle.result();
    assert.equal(summary.counts.images, 60);
    assert.equal((await manifestKeys(stack, summary.runId)).length, 60);
  });
});
