import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from './helpers/paths.ts';
import { importGraph } from '../scripts/lint.ts';

// No Docker engine runs here, so the files are checked statically: every path they reference must exist.
const dockerDir = join(repoRoot, 'docker');
const compose = parse(readFileSync(join(dockerDir, 'compose.yaml'), 'utf8')) as {
  services: Record<string, { build?: { context: string; dockerfile: string }; image?: string; command?: string[]; environment?: Record<string, string> }>;
};

function dockerfileInstructions(path: string): { op: string; args: string }[] {
  const text = readFileSync(path, 'utf8').replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

test('compose has the services a cluster needs, built from files that exist', () => {
  for (const name of ['postgresql', 'temporal', 'minio', 'tracker', 'worker', 'worker-gpu']) {
    assert.ok(compose.services[name], `service ${name}`);
  }
  for (const [name, service] of Object.entries(compose.services)) {
    assert.ok(service.build || service.image, `${name} has an image or a build`);
    if (!service.build) continue;
    const context = resolve(dockerDir, service.build.context);
    assert.equal(context, resolve(repoRoot), `${name} builds from the repository root`);
    assert.ok(existsSync(join(context, service.build.dockerfile)), `${name}: ${service.build.dockerfile} exists`);
    for (const arg of service.command ?? []) {
      if (/\.(ts|js)$/.test(arg)) assert.ok(existsSync(join(repoRoot, arg)), `${name} runs ${arg}, which exists`);
    }
  }
});

test('every Dockerfile copies paths that exist and starts a file that exists', () => {
  for (const name of ['worker.Dockerfile', 'worker-gpu.Dockerfile', 'tracker.Dockerfile']) {
    const instructions = dockerfileInstructions(join(dockerDir, name));
    assert.equal(instructions[0].op, 'FROM', `${name} starts with FROM`);
    for (const { op, args } of instructions) {
      if (op === 'COPY' && !args.startsWith('--from')) {
        const parts = args.split(/\s+/).filter((p) => !p.startsWith('--'));
        for (const source of parts.slice(0, -1)) assert.ok(existsSync(join(repoRoot, source)), `${name}: COPY ${source}`);
      }
      if (op === 'CMD') {
        const argv = JSON.parse(args) as string[];
        for (const arg of argv) if (/\.(ts|js)$/.test(arg)) assert.ok(existsSync(join(repoRoot, arg)), `${name}: CMD ${arg}`);
      }
    }
  }
});

test('every required variable in compose is in env.example and documented in the README', () => {
  const text = readFileSync(join(dockerDir, 'compose.yaml'), 'utf8');
  const required = new Set([...text.matchAll(/\$\{(\w+):\?/g)].map((m) => m[1]));
  const example = readFileSync(join(dockerDir, 'env.example'), 'utf8');
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  assert.ok(required.size > 0);
  for (const variable of required) {
    assert.match(example, new RegExp(`^${variable}=`, 'm'), `${variable} in env.example`);
  }
  for (const variable of Object.keys(compose.services.worker.environment ?? {})) {
    assert.ok(readme.includes(variable), `${variable} is documented in README.md`);
  }
});

test('every Dockerfile copies each source folder its entry point loads', async () => {
  const graph = await importGraph(true);
  for (const name of ['worker.Dockerfile', 'worker-gpu.Dockerfile', 'tracker.Dockerfile']) {
    const instructions = dockerfileInstructions(join(dockerDir, name));
    const copied = instructions
      .filter(({ op, args }) => op === 'COPY' && !args.startsWith('--from'))
      .flatMap(({ args }) => args.split(/\s+/).filter((p) => !p.startsWith('--')).slice(0, -1));
    const cmd = instructions.find(({ op }) => op === 'CMD');
    const entry = (JSON.parse(cmd!.args) as string[]).find((a) => a.endsWith('.ts'))!;
    const loaded = new Set<string>([entry]);
    const queue = [entry];
    while (queue.length > 0) {
      for (const dep of graph[queue.shift()!] ?? []) {
        if (dep in graph && !loaded.has(dep)) {
          loaded.add(dep);
          queue.push(dep);
        }
      }
    }
    assert.ok(loaded.size > 5, `${name}: the import graph of ${entry} was found`);
    for (const file of loaded) {
      assert.ok(
        copied.some((source) => file === source || file.startsWith(`${source.replace(/\/$/, '')}/`)),
        `${name}: ${entry} loads ${file}, which no COPY brings into the image`,
      );
    }
  }
});
