// One SQLite connection to the label store (WAL), with its prepared statements and write transactions. The parts of
// the store (projects.ts, classes.ts, cells.ts, predictions.ts, counts.ts) share it.
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from './migrate.ts';
import * as s from './schema.ts';

export interface OpenOptions {
  /** Milliseconds a writer waits for another connection's transaction (SQLite busy_timeout). */
  busyTimeoutMs?: number;
}

export class LabelDb {
  readonly db: BetterSQLite3Database<typeof s>;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly sqlite: Database.Database) {
    this.db = drizzle(sqlite, { schema: s });
  }

  static open(path: string, options: OpenOptions = {}): LabelDb {
    const sqlite = new Database(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('synchronous = NORMAL');
    migrate(sqlite);
    return new LabelDb(sqlite);
  }

  /** A prepared statement, compiled once per connection. */
  stmt(sqlText: string): Database.Statement {
    let st = this.statements.get(sqlText);
    if (!st) this.statements.set(sqlText, (st = this.sqlite.prepare(sqlText)));
    return st;
  }

  /**
   * Runs fn in one IMMEDIATE transaction (takes the write lock first, so read-then-write cannot interleave). Store calls
   * made inside fn nest as savepoints, so a bulk import is one transaction.
   */
  write<T>(fn: () => T): T {
    return this.sqlite.transaction(fn).immediate();
  }

  close(): void {
    this.sqlite.close();
  }
}
