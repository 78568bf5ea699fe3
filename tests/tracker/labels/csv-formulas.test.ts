// Label exports are opened in spreadsheets: keys and class names that a spreadsheet would run as a formula are written
// with a leading quote, and importing the export gives back exactly the stored keys, classes and labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { Hono } from 'hono';
import { parseExport } from '../../../ml/active/table.ts';
import { LocalStorage } from '../../../storage/index.ts';
import { exportCsv, importCsv } from '../../../tracker/labels/csv.ts';
import { escapeCell, unescapeCell } from '../../../contracts/csv-cells.ts';
import { answerError } from '../../../tracker/api/errors.ts';
import { labelsRouter } from '../../../tracker/labels/routes.tsx';
import { LabelStore } from '../../../tracker/labels/store.ts';

const TOKEN = 'csv-token';
const FORMULA_START = /^[=+\-@\t\r]/;

const keys = [
  '=HYPERLINK("evil")',
  '+1+2.png',
  '-2.png',
  '@SUM(A1).png',
  '\tcmd.png',
  '\r=x.png',
  "'=quoted.png",
  "'plain.png",
  'ok.png',
];
const classes = ['=cmd|calc', '+plus', '-minus', '@at', "'=already", 'cat'];

test('keys and class names that start a formula are exported with a leading quote and imported back exactly', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'labels-csv-'));
  const store = LabelStore.open(join(dir, 'labels.db'));
  try {
    store.createProject('p');
    store.addImages(
      'p',
      keys.map((key, i) => ({ key, viewKey: i % 2 ? `=view${i}.png` : null })),
    );
    for (const c of classes) store.addClass('p', c);
    keys.forEach((key, i) => store.setLabel('p', key, classes[i % classes.length]!, (i % 2) as 0 | 1, 'u'));

    const app = new Hono().onError(answerError).route(
      '/projects',
      labelsRouter({ store, storage: new LocalStorage(dir), token: TOKEN, cacheDir: join(dir, 'thumbs') }),
    );
    const r = await app.request('/projects/p/export.csv', { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.status, 200);
    const csv = await r.text();
    const cells = (parse(csv) as string[][]).flat();
    const risky = cells.filter((cell) => FORMULA_START.test(cell));
    assert.deepEqual(risky, [], 'no exported cell starts a formula');
    assert.ok(
      cells.includes(`'=HYPERLINK("evil")`) &&
        cells.includes("'=cmd|calc") &&
        cells.includes("''=quoted.png"),
    );

    // The labeling loop reads the same export: it sees the stored keys and class names, not their escaped forms.
    const exported = parseExport(csv);
    assert.deepEqual(exported.keys, store.table('p').map((row) => row.key));
    assert.deepEqual(exported.table.classes, classes);

    store.createProject('copy');
    const summary = importCsv(store, 'copy', csv, 'u');
    assert.deepEqual(summary.newClasses, classes);
    assert.deepEqual(
      store.table('copy').map((row) => row.key),
      keys,
    );
    assert.deepEqual(
      store.table('copy').map((row) => row.viewKey),
      store.table('p').map((row) => row.viewKey),
    );
    assert.equal(exportCsv(store, 'copy'), csv, 'export, import, export is byte for byte the same');
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('unescapeCell undoes escapeCell for any text, and an escaped cell never starts a formula', () => {
  const text = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.tuple(fc.constantFrom("'", "''", '=', '+', '-', '@', '\t', '\r'), fc.string()).map(([a, b]) => a + b),
  );
  fc.assert(
    fc.property(text, (t) => {
      assert.equal(unescapeCell(escapeCell(t)), t);
      assert.ok(!FORMULA_START.test(escapeCell(t)));
    }),
    { numRuns: 5000 },
  );
  assert.equal(unescapeCell("'abc"), "'abc", 'a quote before ordinary text is data (CSVs from elsewhere)');
});
