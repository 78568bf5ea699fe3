// npm run lint: the structure rules the code keeps. Exits non-zero and names every breach.
//   - no import cycles between source files;
//   - layer boundaries: the CLI and workers never load tracker server code, ml/ stays pure compute, workflows/ stay
//     deterministic;
//   - no repeated code outside tests and protos (jscpd, thresholds in .jscpd.json);
//   - no source file over 400 lines unless its first lines say why.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import madge from 'madge';

const root = join(import.meta.dirname, '..');
export const SOURCE_DIRS = [
  'activities',
  'cli',
  'config',
  'contracts',
  'ml',
  'storage',
  'tensorboard-format',
  'tracker',
  'tracker-client',
  'worker',
  'workflows',
];
const MAX_LINES = 400;
/** A file may pass the line limit when one of its first lines says why, starting with this phrase. */
const LONG_FILE_REASON = /^\/\/ Longer than 400 lines: \S/;

interface Rule {
  /** Files the rule applies to (relative paths). */
  from: RegExp;
  /** What those files must not import (relative paths of source files, or package names). */
  forbidden: RegExp;
  why: string;
  /** Follow imports transitively (the rule is about what a process loads, not what a file names). */
  transitive: boolean;
}

export const RULES: Rule[] = [
  {
    from: /^(cli|worker|activities|workflows|tracker-client)\//,
    forbidden: /^tracker\//,
    why: 'the CLI and the workers talk to the tracker over HTTP (tracker-client/) and never load its server code',
    transitive: true,
  },
  {
    from: /^ml\//,
    forbidden: /^(@temporalio\/|hono|@hono\/|minio|better-sqlite3|drizzle-orm|storage\/|tracker\/|tracker-client\/|activities\/|workflows\/|node:http)/,
    why: 'ml/ is pure compute: no Temporal, HTTP, database or storage imports',
    transitive: false,
  },
  {
    from: /^workflows\//,
    forbidden: /^(?!@temporalio\/workflow|workflows\/|contracts\/|storage\/layout\.ts|ml\/methods\/names\.ts|ml\/active\/head-options\.ts)/,
    why: 'workflows/ are deterministic orchestration: Temporal\'s workflow API, the contracts and the store layout only',
    transitive: false,
  },
];

type Graph = Record<string, string[]>;

export async function importGraph(skipTypeImports: boolean): Promise<Graph> {
  const result = await madge(
    SOURCE_DIRS.map((d) => join(root, d)),
    {
      baseDir: root,
      fileExtensions: ['ts', 'tsx'],
      tsConfig: join(root, 'tsconfig.json'),
      includeNpm: true,
      detectiveOptions: { ts: { skipTypeImports }, tsx: { skipTypeImports } },
    },
  );
  const graph = result.obj();
  for (const [file, deps] of Object.entries(graph)) graph[file] = deps.map(packageName);
  return graph;
}

/** madge names npm dependencies by their resolved path under node_modules; keep the package name. */
function packageName(dep: string): string {
  const at = dep.lastIndexOf('node_modules/');
  if (at < 0) return dep;
  const parts = dep.slice(at + 'node_modules/'.length).split('/');
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

export function findCycles(graph: Graph): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const dep of graph[file] ?? []) {
      if (!(dep in graph)) continue;
      if (state.get(dep) === 'open') cycles.push(stack.slice(stack.indexOf(dep)).concat(dep));
      else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of Object.keys(graph).sort()) if (!state.has(file)) visit(file);
  return cycles;
}

export function boundaryBreaches(graph: Graph, rules: Rule[]): string[] {
  const breaches: string[] = [];
  for (const rule of rules) {
    for (const file of Object.keys(graph).filter((f) => rule.from.test(f))) {
      const seen = new Set<string>();
      const path = new Map<string, string>([[file, file]]);
      const queue = [file];
      while (queue.length > 0) {
        const current = queue.shift()!;
        for (const dep of graph[current] ?? []) {
          if (seen.has(dep)) continue;
          seen.add(dep);
          const via = `${path.get(current)} -> ${dep}`;
          if (rule.forbidden.test(dep)) {
            breaches.push(`${via}: ${rule.why}`);
            continue;
          }
          path.set(dep, via);
          if (rule.transitive && dep in graph) queue.push(dep);
        }
      }
    }
  }
  return breaches;
}

export function longFiles(files: string[]): string[] {
  return files.flatMap((file) => {
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    const count = lines.at(-1) === '' ? lines.length - 1 : lines.length;
    if (count <= MAX_LINES || lines.slice(0, 5).some((l) => LONG_FILE_REASON.test(l))) return [];
    return [`${file}: ${count} lines (limit ${MAX_LINES}); split it, or state why at its top with "// Longer than 400 lines: <reason>"`];
  });
}

function repeatedCode(): string[] {
  const run = spawnSync(
    process.execPath,
    [join(root, 'node_modules/jscpd/run-jscpd.js'), '--config', join(root, '.jscpd.json'), ...SOURCE_DIRS, 'scripts'],
    { cwd: root, encoding: 'utf8' },
  );
  if (run.status === 0) return [];
  const output = `${run.stdout}\n${run.stderr}`.replace(/\x1b\[[0-9;]*m/g, '').replaceAll(`${root}/`, '');
  const clones = output.split('\n').filter((l) => /Clone found|^\s+-?\s*\S+\.tsx?\s+\[/.test(l));
  return [clones.length > 0 ? clones.join('\n') : output.trim()];
}

async function main(): Promise<void> {
  const started = Date.now();
  const failures: [string, string[]][] = [];
  const withTypes = await importGraph(false);
  failures.push(['import cycles', findCycles(withTypes).map((c) => c.join(' -> '))]);
  failures.push(['layer boundaries', boundaryBreaches(await importGraph(true), RULES)]);
  failures.push(['files over 400 lines', longFiles(Object.keys(withTypes))]);
  failures.push(['repeated code (jscpd, .jscpd.json)', repeatedCode()]);
  let failed = false;
  for (const [check, problems] of failures) {
    if (problems.length === 0) {
      console.log(`ok    ${check}`);
      continue;
    }
    failed = true;
    console.log(`FAIL  ${check}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
  console.log(`lint ${failed ? 'failed' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(1)} s (${relative(process.cwd(), root) || '.'})`);
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] === import.meta.filename) await main();
