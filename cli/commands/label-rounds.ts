// `patchwork label diff <project> --rounds A B`: what changed between two rounds of a project's labeling loop, read
// from what each round stored (labels, predictions, queue) under runs/label-<project>/rounds/.
import { loadSettings } from '../../config/settings.ts';
import { activeLearningWorkflowId } from '../../contracts/active-learning.ts';
import { diffRounds, type RoundDiff, type RoundSnapshot } from '../../ml/active/round-diff.ts';
import { keepClasses, parseExport } from '../../ml/active/table.ts';
import { openStorage, StorageError, type Storage } from '../../storage/index.ts';
import { queueKey } from '../../storage/layout.ts';
import { readPredictions, readRoundLabels, type RoundQueue } from '../../storage/rounds.ts';
import { checkProject } from '../../tracker-client/label-store.ts';

async function readSnapshot(store: Storage, project: string, round: number): Promise<RoundSnapshot> {
  const runId = activeLearningWorkflowId(project);
  try {
    const { csv, classes } = await readRoundLabels(store, runId, round);
    const { keys, classes: predicted, probs } = await readPredictions(store, runId, round);
    const queue = JSON.parse((await store.get(queueKey(runId, round))).toString('utf8')) as RoundQueue;
    return { round, labels: keepClasses(parseExport(csv), classes), probs: { keys, classes: predicted, values: probs }, queue: queue.keys };
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

export async function labelDiffCommand(project: string, options: { rounds: string[]; json?: boolean }): Promise<void> {
  checkProject(project);
  const rounds = (options.rounds ?? []).map(Number);
  if (rounds.length !== 2 || rounds.some((r) => !Number.isInteger(r) || r < 0)) {
    throw new Error(`--rounds takes two round numbers, e.g. --rounds 3 5 (got ${JSON.stringify(options.rounds)})`);
  }
  const settings = loadSettings();
  const store = openStorage(settings.store, settings.s3);
  const [a, b] = await Promise.all(rounds.map((round) => readSnapshot(store, project, round)));
  const diff = diffRounds(a!, b!);
  console.log(options.json ? JSON.stringify(diff, null, 2) : formatRoundDiff(diff));
}
