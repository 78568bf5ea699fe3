// The label store: projects, images, classes and tri-state labels in SQLite (WAL), with an append-only history. This
// facade keeps one API for the routes, the CSV import/export and the grid; the work is done by its parts:
//   projects.ts  projects                       images.ts       images and the rows read from them
//   classes.ts   classes and retiring them      cells.ts        labels, flags, undo and history
//   counts.ts    per-class progress counters    predictions.ts  model outputs and the entropy they imply
import { PROJECT_ID } from '../../contracts/project-id.ts';
import type Database from 'better-sqlite3';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { Cells, type HistoryEntry, type WriteResult } from './cells.ts';
import type { Flag, LabelValue } from './checks.ts';
import { Classes, type ClassInfo } from './classes.ts';
import { LabelDb, type OpenOptions } from './connection.ts';
import { classCounts, type ClassCounts } from './counts.ts';
import { LabelStoreError } from './errors.ts';
import { Images, type ImageRow } from './images.ts';
import { Predictions } from './predictions.ts';
import { Projects, type ProjectInfo } from './projects.ts';
import type * as s from './schema.ts';

export { PROJECT_ID, LabelStoreError };
export { checkClassName, checkImageKey, checkProjectId, PROTECTED_COLUMNS } from './checks.ts';
export type { ClassCounts, ClassInfo, Flag, HistoryEntry, ImageRow, LabelValue, OpenOptions, ProjectInfo, WriteResult };

export class LabelStore {
  private readonly projects: Projects;
  private readonly images: Images;
  private readonly classList: Classes;
  private readonly cells: Cells;
  private readonly predictionStore: Predictions;

  private constructor(private readonly conn: LabelDb) {
    this.projects = new Projects(conn);
    this.classList = new Classes(conn, this.projects);
    this.images = new Images(conn, this.projects, this.classList);
    this.cells = new Cells(conn, this.projects, this.images, this.classList);
    this.predictionStore = new Predictions(conn, this.images, this.classList);
  }

  static open(path: string, options: OpenOptions = {}): LabelStore {
    return new LabelStore(LabelDb.open(path, options));
  }

  get db(): BetterSQLite3Database<typeof s> {
    return this.conn.db;
  }
  get sqlite(): Database.Database {
    return this.conn.sqlite;
  }
  /** A prepared statement, compiled once per store. */
  stmt(sqlText: string): Database.Statement {
    return this.conn.stmt(sqlText);
  }
  /** Runs fn in one IMMEDIATE transaction; store calls inside it nest as savepoints. */
  write<T>(fn: () => T): T {
    return this.conn.write(fn);
  }
  close(): void {
    this.conn.close();
  }

  createProject(id: string, options: { name?: string; root?: string } = {}): ProjectInfo {
    return this.projects.create(id, options);
  }
  getProject(id: string): ProjectInfo | undefined {
    return this.projects.find(id);
  }
  project(id: string): ProjectInfo {
    return this.projects.get(id);
  }
  listProjects(): ProjectInfo[] {
    return this.projects.list();
  }

  addImages(projectId: string, items: { key: string; viewKey?: string | null }[]): number {
    return this.images.add(projectId, items);
  }
  imageId(projectId: string, key: string): number {
    return this.images.id(projectId, key);
  }
  hasImage(projectId: string, key: string): boolean {
    return this.images.has(projectId, key);
  }
  table(projectId: string): ImageRow[] {
    return this.images.table(projectId);
  }
  rows(projectId: string, keys: string[]): ImageRow[] {
    return this.images.rows(projectId, keys);
  }
  rowsById(ids: number[]): ImageRow[] {
    return this.images.rowsById(ids);
  }

  classes(projectId: string, options: { includeRetired?: boolean } = {}): ClassInfo[] {
    return this.classList.list(projectId, options);
  }
  activeClassCount(projectId: string): number {
    return this.classList.activeCount(projectId);
  }
  addClass(projectId: string, name: string): ClassInfo {
    return this.classList.add(projectId, name);
  }
  renameClass(projectId: string, from: string, to: string): ClassInfo {
    return this.classList.rename(projectId, from, to);
  }
  setClassRetired(projectId: string, name: string, retired: boolean): ClassInfo {
    return this.classList.setRetired(projectId, name, retired);
  }

  setLabel(projectId: string, key: string, className: string, value: LabelValue, actor: string): WriteResult {
    return this.cells.setLabel(projectId, key, className, value, actor);
  }
  setFlag(projectId: string, key: string, flag: Flag, value: boolean, actor: string): WriteResult {
    return this.cells.setFlag(projectId, key, flag, value, actor);
  }
  undo(projectId: string, actor: string): (WriteResult & { undone: HistoryEntry }) | undefined {
    return this.cells.undo(projectId, actor);
  }
  historyEntries(projectId: string, options: { limit?: number; ids?: number[]; imageKey?: string } = {}): HistoryEntry[] {
    return this.cells.history(projectId, options);
  }
  counts(projectId: string, options: { includeRetired?: boolean } = {}): ClassCounts[] {
    return classCounts(this.conn, this.classList, projectId, options);
  }

  setPredictions(projectId: string, keys: string[], classNames: string[], probs: ArrayLike<number>[]): void {
    this.predictionStore.set(projectId, keys, classNames, probs);
  }
  predictionsFor(imageIds: number[]): Map<number, Map<number, number>> {
    return this.predictionStore.forImages(imageIds);
  }
  hasPredictions(projectId: string): boolean {
    return this.predictionStore.any(projectId);
  }
  predictions(projectId: string): Map<number, Map<number, number>> {
    return this.predictionStore.all(projectId);
  }
}
