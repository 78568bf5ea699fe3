// Labeling projects: an id, a display name and the root their image keys are relative to.
import { PROJECT_ID } from '../../contracts/project-id.ts';
import { asc } from 'drizzle-orm';
import { checkImageKey, checkProjectId } from './checks.ts';
import type { LabelDb } from './connection.ts';
import { LabelStoreError } from './errors.ts';
import { checkLocationRoot, isLocationRoot } from './image-sources.ts';
import * as s from './schema.ts';

export interface ProjectInfo {
  id: string;
  name: string;
  root: string;
  createdAt: number;
}

export class Projects {
  constructor(private readonly conn: LabelDb) {}

  create(id: string, options: { name?: string; root?: string } = {}): ProjectInfo {
    checkProjectId(id);
    const root = !options.root ? '' : isLocationRoot(options.root) ? checkLocationRoot(options.root) : checkImageKey(options.root);
    const row = { id, name: options.name ?? id, root, createdAt: Date.now() };
    try {
      this.conn.db.insert(s.projects).values(row).run();
    } catch (error) {
      if (/UNIQUE|PRIMARY KEY/.test((error as Error).message))
        throw new LabelStoreError(`project ${id} already exists`, 409);
      throw error;
    }
    return row;
  }

  find(id: string): ProjectInfo | undefined {
    if (!PROJECT_ID.test(id)) return undefined;
    return this.conn
      .stmt('SELECT id, name, root, created_at AS createdAt FROM label_projects WHERE id = ?')
      .get(id) as ProjectInfo | undefined;
  }

  /** The project, or a 404 naming it. */
  get(id: string): ProjectInfo {
    const p = this.find(id);
    if (!p) throw new LabelStoreError(`no project ${JSON.stringify(id)}`, 404);
    return p;
  }

  list(): ProjectInfo[] {
    return this.conn.db.select().from(s.projects).orderBy(asc(s.projects.id)).all();
  }
}
