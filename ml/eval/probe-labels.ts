// The labels a pretraining run's downstream probe is scored on: a CSV of `filepath,label` rows whose paths are keys of
// the run's images (relative to the image source).
import { parse as parseCsv } from 'csv-parse/sync';

/** The labels of `files` in the CSV `text` (named `name` in errors); fewer than 3 labelled images is an error. */
export function parseProbeLabels(text: string, files: readonly string[], name: string): Record<string, string> {
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true });
  } catch (error) {
    throw new Error(`labels ${name} is not valid CSV: ${(error as Error).message}`);
  }
  if (rows.length === 0 || !('filepath' in rows[0]) || !('label' in rows[0])) {
    throw new Error(`labels ${name} needs a header with the columns filepath and label`);
  }
  const known = new Set(files);
  const labels: Record<string, string> = {};
  for (const row of rows) if (known.has(row.filepath) && row.label !== '') labels[row.filepath] = row.label;
  if (Object.keys(labels).length < 3) {
    throw new Error(`labels ${name}: only ${Object.keys(labels).length} of its filepaths are images of this run (they must be relative to the image source)`);
  }
  return labels;
}
