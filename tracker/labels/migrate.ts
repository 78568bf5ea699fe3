// Brings a label store up to date with drizzle's migrator (tracker/db/migrate.ts), from the SQL files in ./migrations.
// Stores made before drizzle's migrator recorded their applied files in label_migrations (name = file name); the first
// open records those in drizzle's table, so only the migrations they lack run.
import type Database from 'better-sqlite3';
import { fileURLToPath } from 'node:url';
import { applyMigrations, journal, MIGRATIONS_TABLE } from '../db/migrate.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

const LEGACY_TABLE = 'label_migrations';

const hasTable = (db: Database.Database, name: string) =>
  !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name);

/** Records in drizzle's table the migrations that label_migrations lists as applied (once; a no-op for new stores). */
function adoptLegacyMigrations(db: Database.Database, dir: string): void {
  if (!hasTable(db, LEGACY_TABLE)) return;
  // IMMEDIATE: of two processes opening the same store, one records them and the other then sees them recorded.
  db.transaction(() => {
    db.exec(
      `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`,
    );
    if (db.prepare(`SELECT 1 FROM "${MIGRATIONS_TABLE}" LIMIT 1`).get()) return;
    const applied = new Set(db.prepare(`SELECT name FROM ${LEGACY_TABLE}`).pluck().all() as string[]);
    const record = db.prepare(`INSERT INTO "${MIGRATIONS_TABLE}" (hash, created_at) VALUES (?, ?)`);
    // The legacy migrator applied files in name order, so the applied ones are a prefix of the journal.
    for (const entry of journal(dir)) {
      if (!applied.has(`${entry.tag}.sql`)) break;
      record.run(entry.hash, entry.when);
    }
  }).immediate();
}

export function migrate(db: Database.Database, dir = MIGRATIONS_DIR): void {
  adoptLegacyMigrations(db, dir);
  applyMigrations(db, dir);
}
