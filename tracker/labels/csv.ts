// CSV import/export in the original's layout : filepath, exclude, validation, [viewpath],
// then one column per class holding '' (unknown), 0 or 1. Booleans are written as pandas writes them (True/False).
// Keys and class names that a spreadsheet would run as formulas are escaped (schemas/csv-cells.ts).
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { escapeCell, unescapeCell } from '../../contracts/csv-cells.ts';
import { LabelStoreError, PROTECTED_COLUMNS, type LabelStore, type LabelValue } from './store.ts';

export function exportCsv(store: LabelStore, projectId: string): string {
  const classes = store.classes(projectId, { includeRetired: true });
  const rows = store.table(projectId);
  const withView = rows.some((r) => r.viewKey !== null);
  const header = [
    'filepath',
    'exclude',
    'validation',
    ...(withView ? ['viewpath'] : []),
    ...classes.map((c) => escapeCell(c.name)),
  ];
  const body = rows.map((r) => [
    escapeCell(r.key),
    r.exclude ? 'True' : 'False',
    r.validation ? 'True' : 'False',
    ...(withView ? [escapeCell(r.viewKey ?? '')] : []),
    ...classes.map((c) => {
      const v = r.labels.get(c.id);
      return v === undefined ? '' : String(v);
    }),
  ]);
  return stringify([header, ...body]);
}

function parseBool(text: string, where: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === 'true' || t === '1' || t === '1.0') return true;
  if (t === 'false' || t === '0' || t === '0.0' || t === '') return false;
  throw new LabelStoreError(`${where}: expected True/False, got ${JSON.stringify(text)}`);
}

function parseLabel(text: string, where: string): LabelValue {
  const t = text.trim().toLowerCase();
  if (t === '' || t === 'nan' || t === 'none') return null;
  if (t === '0' || t === '0.0') return 0;
  if (t === '1' || t === '1.0') return 1;
  throw new LabelStoreError(`${where}: expected empty, 0 or 1, got ${JSON.stringify(text)}`);
}

export interface ImportSummary {
  rows: number;
  newImages: number;
  newClasses: string[];
  changes: number;
}

/**
 * Imports a CSV into a project in one transaction: adds missing images and classes, then sets flags and labels,
 * recording a history row (actor) for each value that changes. Values equal to the stored ones write nothing.
 */
export function importCsv(store: LabelStore, projectId: string, text: string, actor: string): ImportSummary {
  let records: string[][];
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: false }) as string[][];
  } catch (error) {
    throw new LabelStoreError(`not a valid CSV: ${(error as Error).message}`);
  }
  if (records.length === 0)
    throw new LabelStoreError('the CSV is empty (expected a header row with a filepath column)');
  const header = records[0]!.map(unescapeCell);
  const col = (name: string) => header.indexOf(name);
  if (col('filepath') < 0) throw new LabelStoreError('the CSV has no filepath column');
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup !== undefined) throw new LabelStoreError(`the CSV has the column ${JSON.stringify(dup)} twice`);
  const classCols = header.flatMap((h, i) =>
    (PROTECTED_COLUMNS as readonly string[]).includes(h) ? [] : [{ name: h, index: i }],
  );
  const data = records.slice(1);
  return store.write(() => {
    const existing = new Map(store.classes(projectId, { includeRetired: true }).map((c) => [c.name, c]));
    const newClasses: string[] = [];
    for (const c of classCols) {
      if (!existing.has(c.name)) {
        existing.set(c.name, store.addClass(projectId, c.name));
        newClasses.push(c.name);
      }
    }
    const parsed = data.map((r, i) => ({
      line: i + 2,
      key: unescapeCell(r[col('filepath')]!),
      viewKey: col('viewpath') >= 0 && r[col('viewpath')] !== '' ? unescapeCell(r[col('viewpath')]!) : null,
      exclude: col('exclude') >= 0 ? parseBool(r[col('exclude')]!, `line ${i + 2}, exclude`) : false,
      validation:
        col('validation') >= 0 ? parseBool(r[col('validation')]!, `line ${i + 2}, validation`) : false,
      labels: classCols.map((c) => parseLabel(r[c.index]!, `line ${i + 2}, class ${JSON.stringify(c.name)}`)),
    }));
    const newImages = store.addImages(
      projectId,
      parsed.map((p) => ({ key: p.key, viewKey: p.viewKey })),
    );
    const current = new Map(store.table(projectId).map((r) => [r.key, r]));
    let changes = 0;
    for (const p of parsed) {
      const row = current.get(p.key)!;
      if (row.exclude !== p.exclude)
        (store.setFlag(projectId, p.key, 'exclude', p.exclude, actor), changes++);
      if (row.validation !== p.validation)
        (store.setFlag(projectId, p.key, 'validation', p.validation, actor), changes++);
      classCols.forEach((c, j) => {
        const cls = existing.get(c.name)!;
        const old = row.labels.get(cls.id) ?? null;
        if (old === p.labels[j]) return;
        if (cls.retired)
          throw new LabelStoreError(
            `line ${p.line}: class ${JSON.stringify(c.name)} is retired and cannot change`,
            409,
          );
        store.setLabel(projectId, p.key, c.name, p.labels[j]!, actor);
        changes++;
      });
    }
    return { rows: parsed.length, newImages, newClasses, changes };
  });
}
