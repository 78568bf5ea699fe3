#!/usr/bin/env node
// Runs every tests/**/*.test.ts (or the files/folders given) with node's built-in test runner under tsx.
// Node 20's --test does not expand globs or pick up .ts files by itself, so the list is built here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

function collect(path, out) {
  const st = statSync(path);
  if (st.isFile()) {
    if (path.endsWith('.test.ts')) out.push(path);
    return out;
  }
  for (const name of readdirSync(path).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    collect(join(path, name), out);
  }
  return out;
}

const args = process.argv.slice(2);
const roots = args.length > 0 ? args : ['tests'];
const files = roots.flatMap((r) => collect(resolve(r), []));
if (files.length === 0) {
  console.error(`no test files found under ${roots.join(', ')}`);
  process.exit(1);
}
const concurrency = process.env.PATCHWORK_TEST_CONCURRENCY ?? '1';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
