// `patchwork label diff <project> --rounds A B` and `patchwork label replay <project> --round N`: a project's labeling
// rounds read back from what each stored under runs/label-<project>/rounds/.
import { createHash } from 'node:crypto';
import { loadSettings } from '../../config/settings.ts';
import { activeLearningWorkflowId } from '../../contracts/active-learning.ts';
import { diffRounds, roundSnapshot, type RoundDiff, type RoundSnapshot } from '../../ml/active/round-diff.ts';
import { alignWithFeatures, keepClasses, parseExport } from '../../ml/active/table.ts';
import { fitRound, rankRound } from '../../ml/active/round-compute.ts';
import type { HeadOptions, RoundHeadState } from '../../ml/active/round-head.ts';
import { initBackend } from '../../ml/backend.ts';
import { readEmbeddings } from '../../storage/embeddings.ts';
import { openStorage, StorageError, type Storage } from '../../storage/index.ts';
import { queueKey, roundHeadKey, roundProbsKey } from '../../storage/layout.ts';
import {
  readRoundHeadIfAny,
  readRoundLabels,
  readRoundRecipe,
  readStoredRound,
  type RoundQueue,
  type RoundRecipe,
} from '../../storage/rounds.ts';
import { checkProject } from '../../tracker-client/label-store.ts';

async function readSnapshot(store: Storage, project: string, runId: string, round: number): Promise<RoundSnapshot> {
  try {
    return roundSnapshot(round, await readStoredRound(store, runId, round));
  } catch (error) {
    if (error instanceof StorageError && error.code === 'NOT_FOUND') {
      throw new Error(
        `project ${project} has no complete round ${round} in the store (${(error as Error).message}); ` +
          '`patchwork label <project> --status` lists the rounds that ran',
      );
    }
    throw error;
  }
}

function percent(value: number): string {
  return Number.isNaN(value) ? '  n/a' : `${(100 * value).toFixed(1).padStart(5)}`;
}

export function formatRoundDiff(diff: RoundDiff): string {
  const lines = [`round ${diff.from} -> ${diff.to}`];
  const added = Object.values(diff.labelsAdded).reduce((a, b) => a + b, 0);
  lines.push(`labels added: ${added} (${diff.labelChanges.length - added} changed or cleared)`);
  lines.push('class                 added  AUC before  AUC after   (both on round ' + diff.to + "'s labels)");
  for (const [name, count] of Object.entries(diff.labelsAdded)) {
    const auc = diff.auc[name]!;
    lines.push(`${name.slice(0, 20).padEnd(20)} ${String(count).padStart(6)}  ${percent(auc.from)} %    ${percent(auc.to)} %`);
  }
  lines.push(`queue: ${diff.queue.size} images, ${diff.queue.new} new, ${diff.queue.kept} also in round ${diff.from}'s queue`);
  lines.push('biggest probability moves:');
  for (const move of diff.biggestMoves) {
    lines.push(`  ${move.key}  ${move.className}  ${move.from.toFixed(3)} -> ${move.to.toFixed(3)}`);
  }
  return lines.join('\n');
}

export async function labelDiffCommand(project: string, options: { rounds: string[]; json?: boolean; workflow?: string }): Promise<void> {
  checkProject(project);
  const rounds = (options.rounds ?? []).map(Number);
  if (rounds.length !== 2 || rounds.some((r) => !Number.isInteger(r) || r < 0)) {
    throw new Error(`--rounds takes two round numbers, e.g. --rounds 3 5 (got ${JSON.stringify(options.rounds)})`);
  }
  const settings = loadSettings();
  const store = openStorage(settings.store, settings.s3);
  const runId = options.workflow ?? activeLearningWorkflowId(project);
  const [a, b] = await Promise.all(rounds.map((round) => readSnapshot(store, project, runId, round)));
  const diff = diffRounds(a!, b!);
  console.log(options.json ? JSON.stringify(diff, null, 2) : formatRoundDiff(diff));
}

/** sha256 of bytes, short, for the report. */
const digest = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

/**
 * `patchwork label replay <project> --round N`: computes round N again from what it stored (labels, classes, the
 * embeddings' hash, head options, seed, ordering) and compares the head, the predictions and the queue byte for byte.
 */
export async function labelReplayCommand(project: string, options: { round: string; workflow?: string }): Promise<void> {
  checkProject(project);
  const round = Number(options.round);
  if (!Number.isInteger(round) || round < 1) throw new Error(`--round takes a round number (1, 2, ...), got ${JSON.stringify(options.round)}`);
  const settings = loadSettings();
  const store = openStorage(settings.store, settings.s3);
  const runId = options.workflow ?? activeLearningWorkflowId(project);
  let recipe: RoundRecipe;
  try {
    recipe = await readRoundRecipe(store, runId, round);
  } catch (error) {
    if (error instanceof StorageError && error.code === 'NOT_FOUND') {
      throw new Error(
        `project ${project} round ${round} has no stored recipe: it did not run, or it ran before rounds kept one ` +
          '(replay works for rounds from this version on)',
      );
    }
    throw error;
  }
  const { csv, classes } = await readRoundLabels(store, runId, round);
  const embeddings = await readEmbeddings(store, recipe.modelHash);
  const { keys, table, features } = alignWithFeatures(keepClasses(parseExport(csv), classes), embeddings);
  await initBackend({ purpose: 'train' });
  const previous = recipe.previousRound === undefined ? undefined : await readRoundHeadIfAny<RoundHeadState>(store, runId, recipe.previousRound);
  const { head } = fitRound({ features, table, head: recipe.head as HeadOptions, seed: recipe.seed, round, previous, mapShape: embeddings.mapShape });
  const results: [string, Uint8Array, Uint8Array][] = [];
  try {
    const headBytes = new TextEncoder().encode(JSON.stringify({ ...head.toJSON(), classes: table.classes }));
    results.push(['head', headBytes, await store.get(roundHeadKey(runId, round))]);
    const probs = head.predict(features);
    const predicted = await store.exists(roundProbsKey(runId, round));
    if (predicted)
      results.push(['predictions', new Uint8Array(probs.buffer, probs.byteOffset, probs.byteLength), await store.get(roundProbsKey(runId, round))]);
    else console.log(`round ${round} only fitted its head (predictions were not updated): comparing the head alone`);
    if (predicted && recipe.sort !== undefined && recipe.queueSize !== undefined) {
      const pick = rankRound({ head, features, table, probs, sort: recipe.sort, queueSize: recipe.queueSize, seed: recipe.seed, round });
      const stored = JSON.parse((await store.get(queueKey(runId, round))).toString('utf8')) as RoundQueue;
      const queue = JSON.stringify(pick.indices.map((i) => keys[i]!));
      results.push(['queue', new TextEncoder().encode(queue), new TextEncoder().encode(JSON.stringify(stored.keys))]);
    }
  } finally {
    head.dispose();
  }
  let differs = false;
  for (const [name, replayed, stored] of results) {
    const same = Buffer.from(replayed).equals(Buffer.from(stored));
    differs ||= !same;
    console.log(`${name.padEnd(12)} ${same ? 'identical' : 'DIFFERS'}  replayed ${digest(replayed)}  stored ${digest(stored)}  (${stored.byteLength} bytes)`);
  }
  if (differs) throw new Error(`round ${round} of ${project} did not replay to the same bytes`);
  console.log(`round ${round} of ${project} replays bit for bit (labels ${table.n} images, model ${recipe.modelHash})`);
}
