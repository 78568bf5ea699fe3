import { parse as parseCsv } from 'csv-parse/sync';
import { unescapeCell } from '../../contracts/csv-cells.ts';

/**
 * The label table as ml/active sees it: plain typed arrays, no storage or SQL. labels[i*k + c] is -1 (unknown), 0 or 1,
 * as the original's stratified_sample maps None to -1.
 */
export interface LabelTable {
  n: number;
  /** Class names, in column order. */
  classes: string[];
  labels: Int8Array;
  exclude: Uint8Array;
  validation: Uint8Array;
}

export function checkTable(t: LabelTable): void {
  const k = t.classes.length;
  if (t.labels.length !== t.n * k)
    throw new Error(`LabelTable: labels has ${t.labels.length} values, expected n*k = ${t.n * k}`);
  if (t.exclude.length !== t.n || t.validation.length !== t.n)
    throw new Error('LabelTable: exclude and validation need n values');
}

export function emptyTable(n: number, classes: string[]): LabelTable {
  return {
    n,
    classes,
    labels: new Int8Array(n * classes.length).fill(-1),
    exclude: new Uint8Array(n),
    validation: new Uint8Array(n),
  };
}

/** A label-store export: one row per image in project order. */
export interface ExportedLabels {
  keys: string[];
  table: LabelTable;
}

/** Parses the label store's CSV export (filepath, exclude, validation, [viewpath], one column per class). */
export function parseExport(text: string): ExportedLabels {
  // Keys and class names that a spreadsheet would run as a formula are exported with a leading quote.
  const records = (parseCsv(text, { bom: true, skip_empty_lines: true }) as string[][]).map((r) =>
    r.map(unescapeCell),
  );
  if (records.length === 0) throw new Error('label export is empty');
  const header = records[0]!;
  const col = (name: string) => header.indexOf(name);
  const classCols = header
    .map((h, i) => ({ h, i }))
    .filter(({ h }) => !['filepath', 'exclude', 'validation', 'viewpath'].includes(h));
  const rows = records.slice(1);
  const k = classCols.length;
  const table: LabelTable = {
    n: rows.length,
    classes: classCols.map((c) => c.h),
    labels: new Int8Array(rows.length * k).fill(-1),
    exclude: new Uint8Array(rows.length),
    validation: new Uint8Array(rows.length),
  };
  const truthy = (v: string | undefined) =>
    v !== undefined && ['true', '1', '1.0'].includes(v.trim().toLowerCase());
  rows.forEach((r, i) => {
    table.exclude[i] = truthy(r[col('exclude')]) ? 1 : 0;
    table.validation[i] = truthy(r[col('validation')]) ? 1 : 0;
    classCols.forEach((c, j) => {
      const v = r[c.i]!.trim();
      if (v === '0' || v === '1') table.labels[i * k + j] = Number(v);
    });
  });
  return { keys: rows.map((r) => r[col('filepath')]!), table };
}

/**
 * The labels of `classes` only, in that order: retired classes stay in the store and its export but are neither
 * trained nor predicted. Classes of `classes` missing from the export are an error (the export and the class list were
 * read at different times: a retry reads both again).
 */
export function keepClasses(labels: ExportedLabels, classes: string[]): ExportedLabels {
  const from = labels.table.classes;
  const columns = classes.map((name) => {
    const c = from.indexOf(name);
    if (c < 0)
      throw new Error(
        `class ${JSON.stringify(name)} is not in the label export (columns: ${from.join(', ')})`,
      );
    return c;
  });
  const k = from.length;
  const table: LabelTable = {
    ...labels.table,
    classes: [...classes],
    labels: new Int8Array(labels.table.n * classes.length),
  };
  for (let i = 0; i < table.n; i++)
    columns.forEach((c, j) => (table.labels[i * classes.length + j] = labels.table.labels[i * k + c]!));
  return { keys: labels.keys, table };
}

/** Set label cells, and whether the training rows hold at least one 0 and one 1 (what stratified sampling needs). */
export function labelCounts(table: LabelTable): { labelled: number; trainable: boolean } {
  let labelled = 0;
  let zero = false;
  let one = false;
  const k = table.classes.length;
  for (let i = 0; i < table.n; i++) {
    for (let c = 0; c < k; c++) {
      const v = table.labels[i * k + c]!;
      if (v === -1) continue;
      labelled++;
      if (table.exclude[i] || table.validation[i]) continue;
      if (v === 0) zero = true;
      else one = true;
    }
  }
  return { labelled, trainable: zero && one };
}

/** Feature rows by image key: keys.length x dim, row-major (stored embeddings fit). */
export interface KeyedFeatures {
  dim: number;
  keys: string[];
  data: Float32Array;
}

/** The rows of `labels` that have features, as a table aligned with a feature matrix. */
export function alignWithFeatures(
  labels: ExportedLabels,
  embeddings: KeyedFeatures,
): { keys: string[]; table: LabelTable; features: Float32Array; missing: number } {
  const rowOf = new Map(embeddings.keys.map((key, i) => [key, i]));
  const keep = labels.keys.map((key, i) => [key, i] as const).filter(([key]) => rowOf.has(key));
  const k = labels.table.classes.length;
  const d = embeddings.dim;
  const table: LabelTable = {
    n: keep.length,
    classes: labels.table.classes,
    labels: new Int8Array(keep.length * k),
    exclude: new Uint8Array(keep.length),
    validation: new Uint8Array(keep.length),
  };
  const features = new Float32Array(keep.length * d);
  keep.forEach(([key, i], j) => {
    table.labels.set(labels.table.labels.subarray(i * k, i * k + k), j * k);
    table.exclude[j] = labels.table.exclude[i]!;
    table.validation[j] = labels.table.validation[i]!;
    const r = rowOf.get(key)!;
    features.set(embeddings.data.subarray(r * d, r * d + d), j * d);
  });
  return { keys: keep.map(([key]) => key), table, features, missing: labels.keys.length - keep.length };
}
