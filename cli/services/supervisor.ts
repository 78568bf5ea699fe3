// Keeps what `patchwork up` started running: starts the plan's services in order (adopting those still running from
// an earlier supervisor), restarts one that exits with exponential backoff, and gives up on one that keeps crashing
// soon after it starts. Every start, exit and restart is one line in <home>/logs/supervisor.log.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileSize, type ServiceSpec, type SupervisorPlan } from './spec.ts';
import { readinessProbe } from './readiness.ts';
import {
  processRuns,
  readSupervisorState,
  recordedPid,
  recordPid,
  recordSupervisor,
  supervisorLogPath,
  writeSupervisorState,
  type ServiceState,
  type ServiceStatus,
  type SupervisorState,
} from './supervisor-state.ts';
import { tailOfLog } from './process.ts';

export interface RestartPolicy {
  /** Wait before the first restart; doubled after each crash that comes soon after a start. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A service that stayed up this long before exiting is restarted as if it had never crashed. */
  stableAfterMs: number;
  /** Consecutive crashes within stableAfterMs of a start after which the supervisor stops restarting. */
  maxFastCrashes: number;
  /** How often processes this supervisor did not start (adopted) are checked for exit. */
  pollMs: number;
}

export const defaultPolicy: RestartPolicy = {
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  stableAfterMs: 30_000,
  maxFastCrashes: 5,
  pollMs: 500,
};

interface Runtime {
  spec: ServiceSpec;
  status: ServiceStatus;
  /** Bumped at every start or adoption: events from an older process of the same service are ignored. */
  generation: number;
  child?: ChildProcess;
  readyAt?: number;
  startedAt: number;
  /** Whether the service has answered since this supervisor took it over; before that an exit is a failed start. */
  everReady: boolean;
  fastCrashes: number;
  timer?: NodeJS.Timeout;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

export class Supervisor {
  private readonly services = new Map<string, Runtime>();
  private readonly startedAt = new Date().toISOString();
  private stopping = false;

  constructor(
    private readonly home: string,
    private readonly plan: SupervisorPlan,
    private readonly policy: RestartPolicy = defaultPolicy,
    private readonly writeLine: (line: string) => void = (line) => console.log(line),
  ) {
    const previous = readSupervisorState(home);
    for (const spec of plan.services) {
      this.services.set(spec.name, {
        spec,
        // Restart counts survive a new supervisor (a partial `patchwork up`), so status keeps the stack's history.
        status: { state: 'waiting', restarts: previous?.services[spec.name]?.restarts ?? 0, since: new Date().toISOString() },
        generation: 0,
        startedAt: Date.now(),
        everReady: false,
        fastCrashes: 0,
      });
    }
  }

  log(message: string): void {
    this.writeLine(`${new Date().toISOString()} ${message}`);
  }

  /** Takes over services that still run and starts the others, in plan order, each once it answers. */
  async boot(): Promise<void> {
    recordSupervisor(this.home, { pid: process.pid, log: supervisorLogPath(this.home) });
    this.saveState();
    this.log(`supervisor ${process.pid} watching ${this.plan.services.map((s) => s.name).join(', ')}`);
    for (const runtime of this.services.values()) {
      if (this.stopping) return;
      const pid = recordedPid(this.home, runtime.spec.slot);
      if (processRuns(pid, runtime.spec.command, runtime.spec.args) && (await this.adopt(runtime, pid!))) continue;
      if (!(await this.start(runtime))) {
        this.log(`${runtime.spec.name} did not start; the services after it in the plan are not started`);
        return;
      }
    }
  }

  stop(): void {
    this.stopping = true;
    for (const runtime of this.services.values()) clearTimeout(runtime.timer);
    this.log(`supervisor ${process.pid} stopping; the services keep running`);
  }

  private setState(runtime: Runtime, state: ServiceState, extra: Partial<ServiceStatus> = {}): void {
    runtime.status = { ...runtime.status, state, since: new Date().toISOString(), nextAttemptAt: undefined, ...extra };
    this.saveState();
  }

  private saveState(): void {
    if (this.stopping) return;
    const state: SupervisorState = { pid: process.pid, startedAt: this.startedAt, services: {} };
    for (const [name, runtime] of this.services) state.services[name] = runtime.status;
    writeSupervisorState(this.home, state);
  }

  private async adopt(runtime: Runtime, pid: number): Promise<boolean> {
    const generation = ++runtime.generation;
    this.setState(runtime, 'starting', { pid });
    const probe = readinessProbe(runtime.spec, pid, 0);
    const deadline = Date.now() + runtime.spec.readyTimeoutMs;
    while (Date.now() < deadline && processRuns(pid, runtime.spec.command, runtime.spec.args)) {
      if (await probe().catch(() => false)) {
        runtime.everReady = true;
        runtime.readyAt = Date.now();
        runtime.startedAt = Date.now();
        this.setState(runtime, 'up', { pid });
        this.log(`${runtime.spec.name} already running (pid ${pid}); watching it`);
        void this.watchAdopted(runtime, pid, generation);
        return true;
      }
      await sleep(250);
    }
    this.log(`${runtime.spec.name} (pid ${pid}) runs but does not answer; stopping it and starting a new one`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    return false;
  }

  private async watchAdopted(runtime: Runtime, pid: number, generation: number): Promise<void> {
    while (!this.stopping && runtime.generation === generation) {
      if (!processRuns(pid, runtime.spec.command, runtime.spec.args)) {
        this.onExit(runtime, generation, 'exit status unknown (started before this supervisor)');
        return;
      }
      await sleep(this.policy.pollMs);
    }
  }

  /** One start: spawn, record the pid, wait until it answers. False when it exits or times out first. */
  private async start(runtime: Runtime): Promise<boolean> {
    const { spec } = runtime;
    const generation = ++runtime.generation;
    mkdirSync(dirname(spec.logFile), { recursive: true });
    const logOffset = fileSize(spec.logFile);
    const log = openSync(spec.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: spec.env ?? process.env, stdio: ['ignore', log, log], detached: true });
    } finally {
      closeSync(log);
    }
    // Own process group: a signal meant for the supervisor does not reach the services, and `down` stops them itself.
    child.unref();
    const pid = child.pid;
    if (pid === undefined) {
      this.setState(runtime, 'failed', { error: `could not start ${spec.name} (${spec.command})` });
      return false;
    }
    runtime.child = child;
    runtime.startedAt = Date.now();
    runtime.readyAt = undefined;
    recordPid(this.home, spec.slot, pid);
    this.setState(runtime, 'starting', { pid });
    // A failed spawn can report both 'error' and 'exit': only the first counts, or one crash would be restarted twice.
    let exited = false;
    const ended = (how: string) => {
      if (exited) return;
      exited = true;
      this.onExit(runtime, generation, how);
    };
    child.once('exit', (code, signal) => ended(describeExit(code, signal)));
    child.once('error', (error) => ended(error.message));
    const probe = readinessProbe(spec, pid, logOffset);
    const deadline = Date.now() + spec.readyTimeoutMs;
    let delay = 100;
    while (!exited && !this.stopping && Date.now() < deadline) {
      if (await probe().catch(() => false)) {
        if (exited || runtime.generation !== generation) return false;
        runtime.readyAt = Date.now();
        runtime.everReady = true;
        this.setState(runtime, 'up', { pid });
        this.log(`${spec.name} up (pid ${pid})${runtime.status.restarts > 0 ? `, restarts so far ${runtime.status.restarts}` : ''}`);
        return true;
      }
      await sleep(delay);
      delay = Math.min(delay * 1.5, 500);
    }
    if (!exited && !this.stopping) {
      this.log(`${spec.name} (pid ${pid}) did not answer within ${spec.readyTimeoutMs / 1000} s; killing it`);
      child.kill('SIGKILL');
    }
    return false;
  }

  private onExit(runtime: Runtime, generation: number, how: string): void {
    if (this.stopping || runtime.generation !== generation) return;
    const { spec } = runtime;
    const lived = (Date.now() - (runtime.readyAt ?? runtime.startedAt)) / 1000;
    if (!runtime.everReady) {
      const error = `${spec.name} exited (${how}) before it was ready. Last log lines (${spec.logFile}):\n${tailOfLog(spec.logFile)}`;
      this.log(`${spec.name} failed to start: ${how}; see ${spec.logFile}`);
      this.setState(runtime, 'failed', { lastExit: how, error, pid: undefined });
      return;
    }
    const fast = runtime.readyAt === undefined || Date.now() - runtime.readyAt < this.policy.stableAfterMs;
    runtime.fastCrashes = fast ? runtime.fastCrashes + 1 : 1;
    if (runtime.fastCrashes > this.policy.maxFastCrashes) {
      const error =
        `gave up on ${spec.name} after ${this.policy.maxFastCrashes} restarts that each exited within ` +
        `${this.policy.stableAfterMs / 1000} s (last: ${how}); see ${spec.logFile}, fix the cause, then run \`patchwork up\``;
      this.log(error);
      this.setState(runtime, 'gave-up', { lastExit: how, error, pid: undefined });
      return;
    }
    const attempt = runtime.fastCrashes;
    const delay = Math.min(this.policy.baseDelayMs * 2 ** (attempt - 1), this.policy.maxDelayMs);
    this.log(
      `restart ${spec.name}: pid ${runtime.status.pid} exited (${how}) after ${lived.toFixed(1)} s; ` +
        `attempt ${attempt} of ${this.policy.maxFastCrashes} in ${(delay / 1000).toFixed(1)} s`,
    );
    this.setState(runtime, 'backoff', { lastExit: how, pid: undefined, nextAttemptAt: new Date(Date.now() + delay).toISOString() });
    runtime.timer = setTimeout(() => void this.restart(runtime), delay);
  }

  private async restart(runtime: Runtime): Promise<void> {
    await this.waitForDependencies(runtime);
    if (this.stopping) return;
    runtime.status.restarts += 1;
    // A restart that exits or never answers comes back through onExit (start() kills one that does not answer).
    await this.start(runtime);
  }

  private async waitForDependencies(runtime: Runtime): Promise<void> {
    let announced = false;
    for (;;) {
      if (this.stopping) return;
      const waitingFor = runtime.spec.dependsOn.filter((name) => this.services.get(name)?.status.state !== 'up' && this.services.has(name));
      if (waitingFor.length === 0) return;
      if (!announced) this.log(`${runtime.spec.name} waits for ${waitingFor.join(', ')} before restarting`);
      announced = true;
      await sleep(this.policy.pollMs);
    }
  }
}
