// One phase of the scale benchmark on one source, alone in its process so its peak RSS is its own. Reads S3 settings
// from the environment (S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY), prints progress to stderr and one JSON line
// (PhaseResult) to stdout.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { S3Storage } from '../../../storage/s3.ts';
import { PHASES, runIoPhase, type Phase, type PhaseContext } from './scale-phases.ts';

export interface PhaseResult {
  phase: Phase;
  objects: number;
  seconds: number;
  /** Peak resident set of the whole process, bytes (VmHWM). */
  peakRss: number;
  /** Resident set once libraries, backend and model were loaded, before the phase ran. */
  readyRss: number;
  /** JS heap still in use after the phase and a full GC: what the phase retained, apart from garbage not yet collected. */
  liveHeap: number;
}

const { values: args } = parseArgs({
  options: {
    phase: { type: 'string' },
    bucket: { type: 'string' },
    prefix: { type: 'string', default: '' },
    'store-bucket': { type: 'string' },
    'store-prefix': { type: 'string' },
    'run-id': { type: 'string' },
    'image-size': { type: 'string', default: '32' },
    batch: { type: 'string', default: '256' },
    k: { type: 'string', default: '100' },
    'pca-dim': { type: 'string', default: '32' },
    'kmeans-iter': { type: 'string', default: '20' },
  },
});
const phase = args.phase as Phase;
if (!PHASES.includes(phase)) throw new Error(`scale-child: --phase must be one of ${PHASES.join(', ')}`);

/** VmHWM from /proc (Linux), else the portable maxRSS (KiB on every platform Node supports). */
function peakRss(): number {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
    if (line) return Number(line[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

const connection = { endpoint: process.env.S3_ENDPOINT!, accessKey: process.env.S3_ACCESS_KEY!, secretKey: process.env.S3_SECRET_KEY! };
const started = { at: 0 };
let lastLog = 0;
const ctx: PhaseContext = {
  source: new S3Storage(connection, args.bucket!, args.prefix),
  store: new S3Storage(connection, args['store-bucket']!, args['store-prefix']),
  runId: args['run-id']!,
  progress(done) {
    if (performance.now() - lastLog < 10_000) return;
    lastLog = performance.now();
    const seconds = (lastLog - started.at) / 1000;
    process.stderr.write(`  ${phase} ${ctx.source.location}: ${done} objects, ${(done / seconds).toFixed(0)}/s, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB\n`);
  },
};

/** Embedding and refit load tfjs and a model first; listing and ingest never load them. */
async function prepare(): Promise<{ run(): Promise<number>; close(): Promise<void> }> {
  if (phase === 'list' || phase === 'ingest') return { run: () => runIoPhase(phase, ctx), close: async () => {} };
  const [{ initBackend }, { closeDecodePool, parseInputOptions }, { smallResNet }, { runModelPhase }] = await Promise.all([
    import('../../../ml/backend.ts'),
    import('../../../ml/data/index.ts'),
    import('../../../ml/models/index.ts'),
    import('./scale-phases-ml.ts'),
  ]);
  await initBackend({ purpose: 'infer' });
  const size = Number(args['image-size']);
  const model = smallResNet({ channels: 3, widths: [16, 32, 64] });
  const input = parseInputOptions({ imshape: [size, size], num_channels: 3, batch_size: Number(args.batch) });
  const refit = { k: Number(args.k), pcaDim: Number(args['pca-dim']), maxIter: Number(args['kmeans-iter']) };
  return { run: () => runModelPhase(phase, { ...ctx, model, input, refit }), close: closeDecodePool };
}

const prepared = await prepare();
const readyRss = process.memoryUsage().rss;
started.at = lastLog = performance.now();
const objects = await prepared.run();
const seconds = (performance.now() - started.at) / 1000;
await prepared.close();
(globalThis as { gc?: () => void }).gc?.();
const result: PhaseResult = { phase, objects, seconds, peakRss: peakRss(), readyRss, liveHeap: process.memoryUsage().heapUsed };
process.stdout.write(`${JSON.stringify(result)}\n`);
