// Applies a folder of checked-in migrations (drizzle's layout: NNNN_name.sql files split by `--> statement-breakpoint`,
// listed in meta/_journal.json) with drizzle's migrator. Both tracker databases use it: tracker.db (runs) and
// labels.db (the label store).
import type Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { readMigrationFiles } from 'drizzle-orm/migrator';

/** Drizzle's bookkeeping table: one row (hash, created_at = the journal's `when`) per applied migration. */
export const MIGRATIONS_TABLE = '__drizzle_migrations';

/** The journal's migrations, oldest first: the tag (file name without .sql), when, and the hash drizzle records. */
export function journal(folder: string): { tag: string; when: number; hash: string }[] {
  const { entries } = JSON.parse(readFileSync(`${folder}/meta/_journal.json`, 'utf8')) as {
    entries: { tag: string; when: number }[];
  };
  const files = readMigrationFiles({ migrationsFolder: folder });
  return entries.map((entry, i) => ({ tag: entry.tag, when: entry.when, hash: files[i]!.hash }));
}

function upToDate(sqlite: Database.Database, folder: string): boolean {
  const last = journal(folder).at(-1);
  if (!last) return true;
  const exists = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(MIGRATIONS_TABLE);
  if (!exists) return false;
  const newest = sqlite.prepare(`SELECT max(created_at) AS at FROM "${MIGRATIONS_TABLE}"`).get() as { at: number | null };
  return newest.at !== null && Number(newest.at) >= last.when;
}

/**
 * Brings the database up to the folder's newest migration. Drizzle applies every pending migration in one transaction;
 * when another process opening the same file got there first, this one's attempt fails on tables that now exist, and
 * the database it finds is then already up to date, which is all the caller needs.
 */
export function applyMigrations(sqlite: Database.Database, folder: string): void {
  try {
    migrate(drizzle(sqlite), { migrationsFolder: folder });
  } catch (error) {
    if (upToDate(sqlite, folder)) return;
    throw error;
  }
}
