// Cost as the source grows: fills MinIO with tiny images, then measures listing, ingest, embedding and a DeepCluster
// refit on real sources of 25 %, 50 % and 100 % of them, each phase in a process of its own (its peak RSS is its own),
// and prints objects/s and peak RSS per phase and size, their change from 25 % to 100 %, and a linear extrapolation.
//   npm run bench:scale [-- --objects 200000 --phases list,ingest,embed,refit --dir <cache>]
// The MinIO data folder is kept under --dir (default $TMPDIR/patchwork-bench-scale): a rerun with the same --objects
// does not refill, and an interrupted fill resumes. What each phase runs: scripts/bench/lib/scale-phases.ts.
import { spawn } from 'node:child_process';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startS3Server } from '../../cli/services/minio.ts';
import { freePort } from '../../cli/services/process.ts';
import { S3Storage } from '../../storage/s3.ts';
import type { PhaseResult } from './lib/scale-child.ts';
import { fillSource, scaleLayout } from './lib/scale-fill.ts';
import { PHASES, type Phase } from './lib/scale-phases.ts';
import { scaleReport, type Measured } from './lib/scale-report.ts';

const { values: args } = parseArgs({
  options: {
    objects: { type: 'string', default: '200000' },
    phases: { type: 'string', default: PHASES.join(',') },
    dir: { type: 'string', default: join(tmpdir(), 'patchwork-bench-scale') },
    concurrency: { type: 'string', default: '32' },
    'image-size': { type: 'string', default: '32' },
    batch: { type: 'string', default: '256' },
    k: { type: 'string', default: '100' },
    'pca-dim': { type: 'string', default: '32' },
    'kmeans-iter': { type: 'string', default: '20' },
    'fill-only': { type: 'boolean', default: false },
  },
});
const objects = Number(args.objects);
if (!Number.isInteger(objects) || objects < 8) throw new Error(`--objects must be an integer >= 8, got ${args.objects}`);
const phases = args.phases!.split(',') as Phase[];
const unknown = phases.filter((p) => !PHASES.includes(p));
if (unknown.length > 0) throw new Error(`--phases: unknown ${unknown.join(', ')}; choose from ${PHASES.join(', ')}`);
if (phases.includes('refit') && !phases.includes('ingest')) throw new Error('--phases: refit reads the file list that ingest writes; add ingest');

const credentials = { accessKey: 'patchwork-bench', secretKey: 'patchwork-bench-secret' };
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const layout = scaleLayout(objects);
const bucket = `scale-${objects}`;
const storeBucket = 'scale-store';

const s3 = await startS3Server({ port: await freePort(), dataDir: join(args.dir!, 's3'), logDir: join(args.dir!, 'logs'), ...credentials });
log(`MinIO on ${s3.endpoint}, data in ${join(args.dir!, 's3')}`);
const connection = { endpoint: s3.endpoint, ...credentials };
try {
  const source = new S3Storage(connection, bucket);
  const store = new S3Storage(connection, storeBucket);
  await source.ensureBucket();
  await store.ensureBucket();
  const fill = await fillSource({
    source,
    marker: { store, key: `fills/${bucket}.json` },
    layout,
    imageSize: Number(args['image-size']),
    concurrency: Number(args.concurrency),
    log,
  });
  if (fill.written > 0) log(`fill: wrote ${fill.written} objects in ${fill.seconds.toFixed(0)} s (${(fill.written / fill.seconds).toFixed(0)}/s)`);
  if (!args['fill-only']) await measure(s3.endpoint);
} finally {
  await s3.process.stop('SIGTERM', 10_000);
}

async function measure(endpoint: string): Promise<void> {
  const measured: Measured[] = [];
  for (const fraction of layout.fractions) {
    for (const phase of phases) {
      log(`${phase} on ${fraction.name} (${fraction.objects} objects, s3://${bucket}/${fraction.prefix}), load ${loadavg()[0]!.toFixed(1)}`);
      const result = await runChild(endpoint, phase, fraction.prefix, `scale-${objects}-${fraction.name.replace('%', 'pct')}`);
      if (result.objects !== fraction.objects) throw new Error(`${phase} on ${fraction.name}: handled ${result.objects} objects, expected ${fraction.objects}`);
      log(`  ${(result.objects / result.seconds).toFixed(0)} objects/s, ${result.seconds.toFixed(1)} s, peak RSS ${(result.peakRss / 2 ** 20).toFixed(0)} MiB (${(result.readyRss / 2 ** 20).toFixed(0)} MiB before the phase, JS heap live after it ${(result.liveHeap / 2 ** 20).toFixed(0)} MiB)`);
      measured.push({ fraction: fraction.name, result });
    }
  }
  console.log(`\nbench:scale, ${objects} objects of ${args['image-size']} x ${args['image-size']} (PNG and JPEG), load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`embed and refit: smallResNet [16, 32, 64] at ${args['image-size']} x ${args['image-size']}, batch ${args.batch}; refit k ${args.k}, PCA ${args['pca-dim']}, ${args['kmeans-iter']} Lloyd iterations, sample k x 256 rows\n`);
  console.log(scaleReport(measured, layout.fractions.map((f) => f.name), [1e6, 1e7]));
}

function runChild(endpoint: string, phase: Phase, prefix: string, runId: string): Promise<PhaseResult> {
  const child = spawn(
    process.execPath,
    [
      '--expose-gc', '--import', 'tsx', join(import.meta.dirname, 'lib', 'scale-child.ts'),
      '--phase', phase, '--bucket', bucket, '--prefix', prefix, '--store-bucket', storeBucket, '--store-prefix', runId, '--run-id', runId,
      '--image-size', args['image-size']!, '--batch', args.batch!, '--k', args.k!, '--pca-dim', args['pca-dim']!, '--kmeans-iter', args['kmeans-iter']!,
    ],
    { env: { TF_CPP_MIN_LOG_LEVEL: '2', ...process.env, S3_ENDPOINT: endpoint, S3_ACCESS_KEY: credentials.accessKey, S3_SECRET_KEY: credentials.secretKey }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${phase} on s3://${bucket}/${prefix} exited with ${code}`));
      resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as PhaseResult);
    });
  });
}
