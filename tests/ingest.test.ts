import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connectClient } from '../cli/temporal-client.ts';
import { ingestWorkflow } from '../workflows/index.ts';
import { TASK_QUEUES } from '../contracts/task-queues.ts';
import { type IngestSummary } from '../contracts/ingest.ts';
import { openStorage, S3Storage } from '../storage/index.ts';
import { readManifest } from '../storage/manifest.ts';
import { goodAndBadFiles, writeFiles, type FixtureFile } from './helpers/images.ts';
import { startStack, type TestStack } from './helpers/stack.ts';

const MAX_PIXELS = 4_000_000;

describe('ingestWorkflow on real Temporal and MinIO', () => {
  let stack: TestStack;
  let files: FixtureFile[];
  let expectedBad: Record<string, string>;

  before(async () => {
    stack = await startStack({ temporal: true, s3: true });
    await stack.startWorker();
    ({ files, expectedBad } = await goodAndBadFiles());
  });
  after(async () => stack?.stop());

  async function ingest(source: string, id: string): Promise<IngestSummary> {
    const client = await connectClient(stack.settings);
    return client.workflow.execute(ingestWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId: id,
      args: [{ source, chunkSize: 3, maxPixels: MAX_PIXELS }],
    });
  }

  async function checkSummary(summary: IngestSummary) {
    const goodCount = files.length - Object.keys(expectedBad).length;
    assert.equal(summary.counts.files, files.length);
    assert.equal(summary.counts.images, goodCount);
    assert.equal(summary.counts.bad, Object.keys(expectedBad).length);
    assert.deepEqual(summary.counts.byFormat, { png: 2, jpeg: 1, tiff: 1, webp: 1 });
    const reasons = Object.fromEntries(summary.badSample.map((bad) => [bad.key, bad.reason]));
    assert.deepEqual(reasons, expectedBad);
    assert.equal(summary.parts, Math.ceil(files.length / 3));

    const store = openStorage(stack.settings.store, stack.settings.s3);
    const entries = [];
    for await (const entry of readManifest(store, summary.runId)) entries.push(entry);
    assert.deepEqual(entries.map((e) => e.key).sort(), files.map((f) => f.key).sort());
    const png = entries.find((e) => e.key === 'a/one.png');
    assert.deepEqual(png, { ok: true, key: 'a/one.png', size: files[0].bytes.length, format: 'png', width: 20, height: 10, channels: 3, bitDepth: 8 });
    const tif = entries.find((e) => e.key === 'b/three.tif');
    assert.ok(tif?.ok && tif.channels === 1 && tif.width === 8);
  }

  test('a local folder with good and bad files: exact counts and reasons', async () => {
    const folder = join(stack.home, 'images');
    await writeFiles(folder, files);
    await checkSummary(await ingest(folder, 'ingest-local'));
  });

  test('a bucket with the same files: exact counts and reasons', async () => {
    const bucket = new S3Storage(stack.settings.s3!, 'images', 'batch1');
    await bucket.ensureBucket();
    for (const file of files) await bucket.put(file.key, file.bytes);
    await checkSummary(await ingest('s3://images/batch1', 'ingest-bucket'));
  });

  test('a missing folder fails the run at once with the reason', async () => {
    await assert.rejects(ingest(join(stack.home, 'no-such-folder'), 'ingest-missing'), (error: Error) => {
      const cause = (error as { cause?: { cause?: Error } }).cause?.cause;
      assert.match(String(cause?.message), /does not exist/);
      return true;
    });
  });
});
