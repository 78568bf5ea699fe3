import { resolve } from 'node:path';
import { loadSettings } from '../../config/settings.ts';
import { connectClient } from '../temporal-client.ts';
import { parseLocation } from '../../storage/index.ts';
import { ingestWorkflow } from '../../workflows/index.ts';
import { TASK_QUEUES } from '../../contracts/task-queues.ts';
import { ingestProgressQuery, type IngestSummary } from '../../contracts/ingest.ts';
import { followWithBar } from '../progress.ts';

interface IngestOptions {
  wait?: string;
  id?: string;
  chunkSize: number;
  maxPixels?: number;
  json?: boolean;
}

export async function ingestCommand(source: string | undefined, options: IngestOptions): Promise<void> {
  if (!source && !options.wait) throw new Error('give a source (a folder or s3://bucket/prefix) or --wait <workflowId>');
  const settings = loadSettings();
  const client = await connectClient(settings);
  let workflowId: string;
  if (options.wait) {
    workflowId = options.wait;
  } else {
    const location = parseLocation(source!);
    // Workers may run elsewhere with another working directory: send an absolute path.
    const normalized = location.kind === 'local' ? resolve(location.path) : source!;
    workflowId = options.id ?? `ingest-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await client.workflow.start(ingestWorkflow, {
      taskQueue: TASK_QUEUES.io,
      workflowId,
      args: [{ source: normalized, chunkSize: options.chunkSize, maxPixels: options.maxPixels }],
    });
  }
  const handle = client.workflow.getHandle<typeof ingestWorkflow>(workflowId);
  const summary = await followWithBar({
    format: 'ingest |{bar}| {value}/{total} files  {images} images  {bad} bad  {phase}',
    result: () => handle.result(),
    poll: () => handle.query(ingestProgressQuery),
    position: (p) => ({ value: p.inspected, total: p.total, payload: { images: p.images, bad: p.bad, phase: p.phase } }),
    runId: workflowId,
    attachedMessage: `${options.wait ? 'following' : 'started'} ${workflowId} on ${settings.temporal.address}`,
    reattachCommand: `patchwork ingest --wait ${workflowId}`,
  });
  if (summary === undefined) return;
  printSummary(summary, options.json ?? false);
}

function printSummary(summary: IngestSummary, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(summary, null, 2));
    return;
  }
  const c = summary.counts;
  console.log(`ingest ${summary.runId}: ${c.files} files, ${c.images} images, ${c.bad} bad, ${(c.bytes / 1e6).toFixed(1)} MB in ${(summary.durationMs / 1000).toFixed(1)} s`);
  const formats = Object.entries(c.byFormat).map(([f, n]) => `${f} ${n}`).join(', ');
  if (formats) console.log(`  formats: ${formats}`);
  const reasons = Object.entries(c.byReason).map(([r, n]) => `${r} ${n}`).join(', ');
  if (reasons) console.log(`  bad:     ${reasons}`);
  for (const bad of summary.badSample.slice(0, 20)) console.log(`    ${bad.key}: ${bad.reason} (${bad.message})`);
  if (summary.badSample.length > 20 || c.bad > summary.badSample.length) console.log('    ... all bad files are listed in the manifest');
  console.log(`  manifest: ${summary.manifestKey} in the store`);
}
