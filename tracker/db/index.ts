// Opens the tracker's run registry database (tracker.db, WAL) through drizzle and applies the checked-in migrations
// in ./migrations. The label store keeps its own database (labels.db, tracker/labels/connection.ts).
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyMigrations } from './migrate.ts';
import * as schema from './schema.ts';

export type TrackerDb = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/** `path` is a file (created with its folder if missing) or ':memory:'. */
export function openTrackerDb(path: string): TrackerDb {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let sqlite: Database.Database;
  try {
    sqlite = new Database(path);
  } catch (error) {
    throw new Error(`tracker database ${path}: cannot open it (${(error as Error).message}); check the folder is writable`, {
      cause: error,
    });
  }
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  applyMigrations(sqlite, MIGRATIONS_DIR);
  return drizzle(sqlite, { schema }) as TrackerDb;
}
