// Stratified sampling of the original's _sample.py.
import type { Rng } from '../rng.ts';
import { checkTable, type LabelTable } from './table.ts';

export interface StratifiedSample {
  /** Row indices, with replacement. */
  indices: Int32Array;
  /** [count, k] label vectors of those rows, -1 for unknown. */
  labels: Int8Array;
}

/**
 * Keeps rows that are neither excluded nor validation; for z in {0,1} builds one row list per class that has a value z.
 * Each draw: z uniform in {0,1}, then a class list uniform among those for z, then a row uniform in that list.
 * Fails, like the original, when there is no 0 or no 1 yet.
 */
export function stratifiedSample(table: LabelTable, count: number, rng: Rng): StratifiedSample {
  checkTable(table);
  const k = table.classes.length;
  const lists: [number[][], number[][]] = [[], []];
  for (const z of [0, 1] as const) {
    for (let c = 0; c < k; c++) {
      const rows: number[] = [];
      for (let i = 0; i < table.n; i++) {
        if (table.exclude[i] || table.validation[i]) continue;
        if (table.labels[i * k + c] === z) rows.push(i);
      }
      if (rows.length > 0) lists[z].push(rows);
    }
  }
  if (lists[0].length === 0 || lists[1].length === 0) {
    throw new Error(
      `stratifiedSample: need at least one ${lists[0].length === 0 ? '0' : '1'} label among training rows (not excluded, not validation)`,
    );
  }
  const indices = new Int32Array(count);
  const labels = new Int8Array(count * k);
  for (let j = 0; j < count; j++) {
    const z = rng.integer(0, 2) as 0 | 1;
    const list = lists[z][rng.integer(0, lists[z].length)]!;
    const row = list[rng.integer(0, list.length)]!;
    indices[j] = row;
    labels.set(table.labels.subarray(row * k, row * k + k), j * k);
  }
  return { indices, labels };
}

/** Rows with every class unknown (exclude and validation ignored, as find_unlabeled does). */
export function unlabeledRows(table: LabelTable): number[] {
  const k = table.classes.length;
  const out: number[] = [];
  for (let i = 0; i < table.n; i++) {
    let all = true;
    for (let c = 0; c < k && all; c++) all = table.labels[i * k + c] === -1;
    if (all) out.push(i);
  }
  return out;
}
