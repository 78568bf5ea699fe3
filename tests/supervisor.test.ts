import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readServicesFile } from '../config/settings.ts';
import { Supervisor } from '../cli/services/supervisor.ts';
import { processAlive as isAlive, readSupervisorState, recordedSupervisor, supervisorLogPath } from '../cli/services/supervisor-state.ts';
import type { ServiceSpec } from '../cli/services/spec.ts';
import { runCli } from './helpers/cli.ts';
import { freePort } from './helpers/net.ts';
import { pollUntil } from './helpers/tensorboard.ts';

describe('the supervisor gives up on a service that keeps crashing', () => {
  let home: string;
  before(async () => (home = await mkdtemp(join(tmpdir(), 'patchwork-supervisor-'))));
  after(async () => rm(home, { recursive: true, force: true }));

  test('restarts with doubling delays, then stops after the last allowed fast crash and says why', async () => {
    const spec: ServiceSpec = {
      name: 'crasher',
      command: process.execPath,
      args: ['-e', "console.log('ready'); setTimeout(() => process.exit(3), 1500)"],
      logFile: join(home, 'crasher.log'),
      ready: { kind: 'log', text: 'ready' },
      readyTimeoutMs: 30_000,
      dependsOn: [],
      slot: { kind: 'worker', queue: 'crasher' },
    };
    const lines: string[] = [];
    const policy = { baseDelayMs: 100, maxDelayMs: 300, stableAfterMs: 60_000, maxFastCrashes: 3, pollMs: 50 };
    const supervisor = new Supervisor(home, { services: [spec] }, policy, (line) => lines.push(line));
    try {
      await supervisor.boot();
      const status = await pollUntil('the supervisor to give up', async () => {
        const state = readSupervisorState(home)?.services.crasher;
        return state?.state === 'gave-up' ? state : undefined;
      });
      assert.equal(status.restarts, 3);
      assert.equal(status.lastExit, 'exit code 3');
      assert.match(status.error ?? '', /gave up on crasher after 3 restarts that each exited within 60 s \(last: exit code 3\); see .*crasher\.log/);
      const restarts = lines.filter((line) => line.includes('restart crasher:'));
      assert.deepEqual(
        restarts.map((line) => line.match(/exited \((.*)\) after .*; attempt (\d) of 3 in ([\d.]+) s/)?.slice(1)),
        [
          ['exit code 3', '1', '0.1'],
          ['exit code 3', '2', '0.2'],
          ['exit code 3', '3', '0.3'],
        ],
      );
      for (const line of restarts) assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z /, 'each restart line starts with its time');
    } finally {
      supervisor.stop();
    }
  });
});

describe('patchwork up supervises what it starts', () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let ports: string[];
  const patchwork = (...args: string[]) => runCli(args, { env, cwd: home });
  const record = () => {
    const services = readServicesFile(env.PATCHWORK_HOME!);
    assert.ok(services, 'services.json is there');
    return services;
  };
  const statusRow = (out: string, name: string) => out.split('\n').find((line) => line.slice(6).startsWith(`${name} `)) ?? '';

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'patchwork-supervised-'));
    env = { ...process.env, PATCHWORK_HOME: join(home, '.patchwork') };
    for (const key of ['TEMPORAL_ADDRESS', 'S3_ENDPOINT', 'PATCHWORK_TRACKER_URL', 'PATCHWORK_STORE', 'S3_BUCKET', 'PATCHWORK_TOKEN']) delete env[key];
    ports = [];
    for (const flag of ['--temporal-port', '--temporal-ui-port', '--s3-port', '--s3-console-port', '--tracker-port', '--tensorboard-port']) {
      ports.push(flag, String(await freePort()));
    }
  });
  after(async () => {
    await patchwork('down');
    await rm(home, { recursive: true, force: true });
  });

  test('up starts the services and a supervisor recorded with them', async () => {
    const result = await patchwork('up', ...ports);
    assert.equal(result.code, 0, result.err);
    const supervisor = recordedSupervisor(env.PATCHWORK_HOME!);
    assert.ok(supervisor && isAlive(supervisor.pid), 'the supervisor runs');
    const status = await patchwork('status');
    assert.equal(status.code, 0, status.out);
    assert.equal((status.out.match(/^up .*restarts=0$/gm) ?? []).length, 6, status.out);
    assert.match(status.out, new RegExp(`^supervised by pid ${supervisor.pid}`, 'm'));
  });

  test('a second up changes nothing', async () => {
    const before = record();
    const supervisorBefore = recordedSupervisor(env.PATCHWORK_HOME!);
    const result = await patchwork('up', ...ports);
    assert.equal(result.code, 0, result.err);
    assert.match(result.err, /already up.*nothing to start/);
    assert.deepEqual(record(), before);
    assert.deepEqual(recordedSupervisor(env.PATCHWORK_HOME!), supervisorBefore);
  });

  test('a worker killed with SIGKILL is restarted, logged, and counted in status', async () => {
    const killed = record().workers.find((w) => w.queue === 'patchwork-gpu')!.pid;
    process.kill(killed, 'SIGKILL');
    const row = await pollUntil(
      'status to show the worker up again',
      async () => {
        const status = await patchwork('status');
        const line = statusRow(status.out, 'worker patchwork-gpu');
        return line.startsWith('up ') && !line.includes(`pid ${killed} `) ? line : undefined;
      },
      180_000,
      500,
    );
    assert.match(row, /restarts=1$/);
    const log = await readFile(supervisorLogPath(env.PATCHWORK_HOME!), 'utf8');
    assert.match(log, new RegExp(`Z restart worker patchwork-gpu: pid ${killed} exited \\(signal SIGKILL\\) after [\\d.]+ s; attempt 1 of 5 in 1\\.0 s`));
  });

  test('up after the supervisor and the tracker were killed starts only those two', async () => {
    const before = record();
    const supervisorPid = recordedSupervisor(env.PATCHWORK_HOME!)!.pid;
    process.kill(supervisorPid, 'SIGKILL');
    process.kill(before.tracker.pid!, 'SIGKILL');
    await pollUntil('both to be gone', async () => (!isAlive(supervisorPid) && !isAlive(before.tracker.pid) ? true : undefined));
    const down = await patchwork('status');
    assert.notEqual(down.code, 0);
    assert.match(statusRow(down.out, 'tracker'), /^DOWN/);

    const result = await patchwork('up', ...ports);
    assert.equal(result.code, 0, result.err);
    assert.match(result.err, /starting only what is missing: tracker, the supervisor\n/);
    const after = record();
    assert.notEqual(after.tracker.pid, before.tracker.pid);
    assert.deepEqual(
      { ...after, tracker: undefined },
      { ...before, tracker: undefined },
      'every other service kept its process',
    );
    const status = await patchwork('status');
    assert.equal(status.code, 0, status.out);
    assert.match(statusRow(status.out, 'worker patchwork-gpu'), /restarts=1$/, 'restart counts outlive the supervisor');
  });

  test('down stops the supervisor first, then every service', async () => {
    const services = record();
    const supervisorPid = recordedSupervisor(env.PATCHWORK_HOME!)!.pid;
    const pids = [services.temporal.pid, services.s3?.pid, services.tracker.pid, services.tensorboard?.pid, ...services.workers.map((w) => w.pid)];
    const result = await patchwork('down');
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, new RegExp(`^stopped supervisor \\(pid ${supervisorPid}\\)\\n`));
    for (const pid of [supervisorPid, ...pids]) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
    assert.equal((result.out.match(/^stopped /gm) ?? []).length, 7, result.out);
  });
});
