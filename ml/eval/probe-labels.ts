// The labels a pretraining run's downstream probe is scored on, from a CSV in either layout the original accepted:
//   - `filepath,label`: one class per image;
//   - the original's label DataFrame: `filepath` and one column per class holding 1, 0 or nothing (unknown), with
//     optional `exclude` / `validation` / `viewpath` columns (the label store's export has this layout). Files whose
//     labelled rows each have exactly one 1 are single-label; otherwise the probe is multi-label (per-class AUC).
// Filepaths are keys of the run's images: relative to the image source, or absolute paths / URLs inside it.
import { parse as parseCsv } from 'csv-parse/sync';

export type ProbeLabels =
  | { kind: 'single'; labels: Record<string, string> }
  | { kind: 'multi'; classes: string[]; labels: Record<string, number[]> };

const NOT_CLASSES = new Set(['filepath', 'exclude', 'validation', 'viewpath']);
const MIN_LABELLED = 3;

/** 1, 0 or -1 (unknown) for a DataFrame cell as pandas writes it. */
function cellValue(text: string, where: string): number {
  const t = text.trim().toLowerCase();
  if (t === '' || t === 'nan' || t === 'none' || t === 'null') return -1;
  if (t === '1' || t === '1.0' || t === 'true') return 1;
  if (t === '0' || t === '0.0' || t === 'false') return 0;
  throw new Error(`${where}: ${JSON.stringify(text)} is not 1, 0 or empty`);
}

/** The run key of a filepath: as is when relative, else with the image source's root stripped. */
function keyOf(filepath: string, root: string): string {
  const path = filepath.replace(/^file:\/\//, '');
  const base = root.replace(/^file:\/\//, '').replace(/\/+$/, '');
  if (base && path.startsWith(`${base}/`)) return path.slice(base.length + 1);
  return path.replace(/^\.\//, '');
}

/**
 * The labels of `files` (keys of the run's images under `root`) in the CSV `text`, named `name` in errors. Fewer than
 * three labelled images of the run is an error that says how filepaths must be written.
 */
export function parseProbeLabels(text: string, files: readonly string[], name: string, root = ''): ProbeLabels {
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (error) {
    throw new Error(`labels ${name} is not valid CSV: ${(error as Error).message}`);
  }
  const header = rows.length > 0 ? Object.keys(rows[0]!) : [];
  if (!header.includes('filepath')) {
    throw new Error(
      `labels ${name} needs a filepath column, then either a label column or one column per class (1, 0 or empty)`,
    );
  }
  const known = new Set(files);
  const inRun = (row: Record<string, string>) => {
    const key = keyOf(row.filepath ?? '', root);
    return known.has(key) && !(row.exclude !== undefined && cellValue(row.exclude, 'exclude') === 1) ? key : undefined;
  };
  const tooFew = (count: number) =>
    new Error(
      `labels ${name}: only ${count} of its filepaths are labelled images of this run; filepaths must be relative to ` +
        `the image source${root ? ` (${root})` : ''} or absolute paths inside it`,
    );

  if (header.includes('label')) {
    const labels: Record<string, string> = {};
    for (const row of rows) {
      const key = inRun(row);
      if (key !== undefined && row.label !== '') labels[key] = row.label!;
    }
    if (Object.keys(labels).length < MIN_LABELLED) throw tooFew(Object.keys(labels).length);
    return { kind: 'single', labels };
  }

  const classes = header.filter((h) => !NOT_CLASSES.has(h));
  if (classes.length === 0) throw new Error(`labels ${name} has a filepath column but no label or class columns`);
  const labels: Record<string, number[]> = {};
  rows.forEach((row, i) => {
    const key = inRun(row);
    if (key === undefined) return;
    const values = classes.map((c) => cellValue(row[c] ?? '', `labels ${name} row ${i + 2}, column ${c}`));
    if (values.some((v) => v !== -1)) labels[key] = values;
  });
  const keys = Object.keys(labels);
  if (keys.length < MIN_LABELLED) throw tooFew(keys.length);
  const oneHot = keys.every((k) => labels[k]!.every((v) => v !== -1) && labels[k]!.filter((v) => v === 1).length === 1);
  if (oneHot) {
    return { kind: 'single', labels: Object.fromEntries(keys.map((k) => [k, classes[labels[k]!.indexOf(1)]!])) };
  }
  return { kind: 'multi', classes, labels };
}
