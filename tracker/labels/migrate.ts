// A tiny migrator: applies tracker/labels/migrations/*.sql in file-name order, each in its own transaction, and records
// it in label_migrations. Hand-written because drizzle-kit's generated journal needs its CLI; plain SQL files are
// easy to review and check in.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export function migrate(db: Database.Database, dir = MIGRATIONS_DIR): string[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS label_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort();
  const applied: string[] = [];
  for (const name of files) {
    const sql = readFileSync(`${dir}/${name}`, 'utf8');
    // IMMEDIATE: two processes opening the same file at once cannot both apply a migration.
    db.transaction(() => {
      const done = db.prepare('SELECT 1 FROM label_migrations WHERE name = ?').get(name);
      if (done) return;
      db.exec(sql);
      db.prepare('INSERT INTO label_migrations (name, applied_at) VALUES (?, ?)').run(name, Date.now());
      applied.push(name);
    }).immediate();
  }
  return applied;
}
