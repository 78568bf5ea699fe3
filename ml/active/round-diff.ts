// What changed between two labeling rounds, from what each round stored: its labels, its predictions and its queue.
// Both rounds' predictions are scored against the later round's labels, so their AUCs compare on the same answers.
import { rocAuc } from './metrics.ts';
import { keepClasses, parseExport, type ExportedLabels } from './table.ts';

export interface RoundSnapshot {
  round: number;
  labels: ExportedLabels;
  /** Predicted probabilities, keys.length x classes.length row-major. */
  probs: { keys: string[]; classes: string[]; values: Float32Array };
  queue: string[];
}

/** A snapshot from a round's stored label export (CSV), classes, predictions and queue keys. */
export function roundSnapshot(
  round: number,
  stored: { csv: string; classes: string[]; predictions: { keys: string[]; classes: string[]; probs: Float32Array }; queue: { keys: string[] } },
): RoundSnapshot {
  const { keys, classes, probs } = stored.predictions;
  return {
    round,
    labels: keepClasses(parseExport(stored.csv), stored.classes),
    probs: { keys, classes, values: probs },
    queue: stored.queue.keys,
  };
}

export interface LabelChange {
  key: string;
  className: string;
  from: -1 | 0 | 1;
  to: -1 | 0 | 1;
}

export interface ProbabilityMove {
  key: string;
  className: string;
  from: number;
  to: number;
}

export interface RoundDiff {
  from: number;
  to: number;
  /** Cells unknown in `from` and answered in `to`, per class. */
  labelsAdded: Record<string, number>;
  /** Every label cell that differs (added, changed or cleared), in image then class order. */
  labelChanges: LabelChange[];
  /** Per class: AUC of each round's predictions on the later round's labels (NaN without both answers). */
  auc: Record<string, { from: number; to: number }>;
  queue: { size: number; new: number; kept: number };
  /** The largest probability changes over images and classes both rounds predicted, largest first. */
  biggestMoves: ProbabilityMove[];
}

const cell = (labels: ExportedLabels, row: number, c: number) => labels.table.labels[row * labels.table.classes.length + c] as -1 | 0 | 1;

export function diffRounds(a: RoundSnapshot, b: RoundSnapshot, options: { moves?: number } = {}): RoundDiff {
  const classes = b.labels.table.classes;
  const rowOfA = new Map(a.labels.keys.map((key, i) => [key, i]));
  const classOfA = new Map(a.labels.table.classes.map((name, c) => [name, c]));
  const labelsAdded: Record<string, number> = Object.fromEntries(classes.map((name) => [name, 0]));
  const labelChanges: LabelChange[] = [];
  b.labels.keys.forEach((key, row) => {
    const rowA = rowOfA.get(key);
    classes.forEach((className, c) => {
      const to = cell(b.labels, row, c);
      const cA = classOfA.get(className);
      const from = rowA === undefined || cA === undefined ? -1 : cell(a.labels, rowA, cA);
      if (from === to) return;
      labelChanges.push({ key, className, from, to });
      if (from === -1) labelsAdded[className]!++;
    });
  });

  const auc: RoundDiff['auc'] = {};
  const rowsA = new Map(a.probs.keys.map((key, i) => [key, i]));
  const rowsB = new Map(b.probs.keys.map((key, i) => [key, i]));
  for (const [c, className] of classes.entries()) {
    auc[className] = { from: aucOn(a.probs, rowsA, className, b.labels, c), to: aucOn(b.probs, rowsB, className, b.labels, c) };
  }

  const before = new Set(a.queue);
  const kept = b.queue.filter((key) => before.has(key)).length;
  return {
    from: a.round,
    to: b.round,
    labelsAdded,
    labelChanges,
    auc,
    queue: { size: b.queue.length, new: b.queue.length - kept, kept },
    biggestMoves: biggestMoves(a.probs, b.probs, options.moves ?? 10),
  };
}

/** AUC of `probs` for one class over the images `labels` answers for it (validation and training alike). */
function aucOn(
  probs: RoundSnapshot['probs'],
  rowOf: Map<string, number>,
  className: string,
  labels: ExportedLabels,
  c: number,
): number {
  const column = probs.classes.indexOf(className);
  if (column < 0) return Number.NaN;
  const scores: number[] = [];
  const truth: number[] = [];
  labels.keys.forEach((key, row) => {
    const answer = cell(labels, row, c);
    const at = rowOf.get(key);
    if (answer === -1 || labels.table.exclude[row] || at === undefined) return;
    scores.push(probs.values[at * probs.classes.length + column]!);
    truth.push(answer);
  });
  return rocAuc(scores, truth);
}

function biggestMoves(a: RoundSnapshot['probs'], b: RoundSnapshot['probs'], limit: number): ProbabilityMove[] {
  const rowOfA = new Map(a.keys.map((key, i) => [key, i]));
  const moves: ProbabilityMove[] = [];
  for (const [cb, className] of b.classes.entries()) {
    const ca = a.classes.indexOf(className);
    if (ca < 0) continue;
    b.keys.forEach((key, rowB) => {
      const rowA = rowOfA.get(key);
      if (rowA === undefined) return;
      const from = a.values[rowA * a.classes.length + ca]!;
      const to = b.values[rowB * b.classes.length + cb]!;
      moves.push({ key, className, from, to });
    });
  }
  moves.sort((x, y) => Math.abs(y.to - y.from) - Math.abs(x.to - x.from) || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return moves.slice(0, limit);
}
