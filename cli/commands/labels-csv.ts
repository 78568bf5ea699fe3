// `patchwork labels export|import <project> <file.csv>`: the project's labels in the original's CSV layout
// (filepath, exclude, validation, [viewpath], one column per class with empty, 0 or 1), through the tracker.
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadSettings } from '../../config/settings.ts';
import { checkProject, LabelStoreClient } from '../../tracker-client/label-store.ts';

export async function labelsExportCommand(project: string, file: string): Promise<void> {
  checkProject(project);
  const labels = await LabelStoreClient.connect(loadSettings());
  const csv = await labels.exportCsv(project);
  if (file === '-') {
    process.stdout.write(csv);
    return;
  }
  await writeFile(resolve(file), csv);
  const rows = csv.split('\n').filter((line) => line.trim() !== '').length - 1;
  console.log(`wrote ${rows} images of ${project} to ${resolve(file)}`);
}

export async function labelsImportCommand(project: string, file: string): Promise<void> {
  checkProject(project);
  let csv: string;
  try {
    csv = await readFile(resolve(file), 'utf8');
  } catch (error) {
    throw new Error(
      `${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); give a CSV file`,
    );
  }
  const labels = await LabelStoreClient.connect(loadSettings());
  const summary = await labels.importCsv(project, csv);
  console.log(
    `imported ${summary.rows} rows into ${project}: ${summary.changes} values changed, ${summary.newImages} new images` +
      (summary.newClasses.length > 0 ? `, new classes ${summary.newClasses.join(', ')}` : ''),
  );
}
