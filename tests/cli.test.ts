import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readServicesFile } from '../config/settings.ts';
import { goodAndBadFiles, writeFiles } from './helpers/images.ts';
import { freePort } from './helpers/net.ts';
import { repoRoot } from './helpers/paths.ts';

const bin = join(repoRoot, 'cli', 'bin.js');

describe('patchwork up / ingest / status / down', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let ports: string[];

  function patchwork(...args: string[]) {
    const result = spawnSync(process.execPath, [bin, ...args], { env, cwd: home, encoding: 'utf8', timeout: 180_000 });
    return { code: result.status, out: result.stdout, err: result.stderr };
  }

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'patchwork-cli-'));
    env = { ...process.env, PATCHWORK_HOME: join(home, '.patchwork') };
    for (const key of ['TEMPORAL_ADDRESS', 'S3_ENDPOINT', 'PATCHWORK_TRACKER_URL', 'PATCHWORK_STORE', 'S3_BUCKET']) delete env[key];
    ports = [];
    for (const flag of ['--temporal-port', '--temporal-ui-port', '--s3-port', '--s3-console-port', '--tracker-port', '--tensorboard-port']) {
      ports.push(flag, String(await freePort()));
    }
  });
  after(async () => {
    patchwork('down');
    await rm(home, { recursive: true, force: true });
  });

  test('a taken port is reported by name with the fix, and nothing is left running', async () => {
    const blocker: Server = createServer();
    const taken = Number(ports[ports.indexOf('--tracker-port') + 1]);
    await new Promise<void>((resolve) => blocker.listen(taken, '127.0.0.1', resolve));
    try {
      const result = patchwork('up', ...ports);
      assert.notEqual(result.code, 0);
      assert.match(result.err, new RegExp(`port ${taken} for the tracker is already in use.*--tracker-port`));
      assert.equal(readServicesFile(env.PATCHWORK_HOME!), undefined, 'no services recorded after a failed start');
    } finally {
      blocker.close();
    }
  });

  test('up starts every service and prints where they are', () => {
    const result = patchwork('up', ...ports);
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, /patchwork is up/);
    for (const what of ['temporal', 's3', 'tracker', 'tensorboard', 'workers', 'store']) assert.match(result.out, new RegExp(`^  ${what} `, 'm'));
    const status = patchwork('status');
    assert.equal(status.code, 0, status.out);
    assert.equal((status.out.match(/^up /gm) ?? []).length, 6, status.out);
  });

  test('ingest prints the summary with exact counts', async () => {
    const { files, expectedBad } = await goodAndBadFiles();
    await writeFiles(join(home, 'photos'), files);
    const result = patchwork('ingest', 'photos', '--max-pixels', '4000000', '--json');
    assert.equal(result.code, 0, result.err);
    const summary = JSON.parse(result.out);
    assert.equal(summary.counts.files, files.length);
    assert.equal(summary.counts.bad, Object.keys(expectedBad).length);
    assert.equal(summary.source, join(home, 'photos'), 'a relative folder is sent as an absolute path');
  });

  test('Ctrl-C detaches without cancelling; --wait reattaches to the result', async () => {
    const big = await sharp({ create: { width: 8000, height: 6000, channels: 3, background: '#808080' } }).png().toBuffer();
    await writeFiles(join(home, 'slow'), Array.from({ length: 120 }, (_, i) => ({ key: `s${i}.png`, bytes: big })));
    const child = spawn(process.execPath, [bin, 'ingest', 'slow', '--id', 'ingest-detach', '--chunk-size', '10'], { env, cwd: home });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const started = new Promise<void>((resolve) => child.stderr.on('data', () => stderr.includes('started ingest-detach') && resolve()));
    await started;
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 130);
    assert.match(stderr, /detached; ingest-detach keeps running\. Reattach with: patchwork ingest --wait ingest-detach/);
    const reattached = patchwork('ingest', '--wait', 'ingest-detach', '--json');
    assert.equal(reattached.code, 0, reattached.err);
    assert.equal(JSON.parse(reattached.out).counts.images, 120);
  });

  test('down stops every process it started', () => {
    const record = readServicesFile(env.PATCHWORK_HOME!);
    assert.ok(record);
    const pids = [record.temporal.pid, record.s3?.pid, record.tracker.pid, record.tensorboard?.pid, ...record.workers.map((w) => w.pid)].filter(
      (pid): pid is number => pid !== undefined,
    );
    assert.equal(pids.length, 6, "temporal, s3, tracker, tensorboard and two workers");
    const result = patchwork('down');
    assert.equal(result.code, 0, result.err);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), `pid ${pid} is gone`);
    assert.notEqual(patchwork('status').code, 0);
  });
});
