-- Label store, first version. Migrations are applied in journal order (meta/_journal.json) by tracker/labels/migrate.ts.
CREATE TABLE label_projects (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  root TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
--> statement-breakpoint
CREATE TABLE label_images (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id TEXT NOT NULL REFERENCES label_projects(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  view_key TEXT,
  position INTEGER NOT NULL,
  exclude INTEGER NOT NULL DEFAULT 0 CHECK (exclude IN (0, 1)),
  validation INTEGER NOT NULL DEFAULT 0 CHECK (validation IN (0, 1)),
  UNIQUE (project_id, key)
);
--> statement-breakpoint
CREATE INDEX label_images_project_position ON label_images (project_id, position);
--> statement-breakpoint
CREATE TABLE label_classes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id TEXT NOT NULL REFERENCES label_projects(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  position INTEGER NOT NULL,
  retired INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1)),
  UNIQUE (project_id, name)
);
--> statement-breakpoint
-- One row per known (image, class) cell; no row means "unknown".
CREATE TABLE label_values (
  image_id INTEGER NOT NULL REFERENCES label_images(id) ON DELETE CASCADE,
  class_id INTEGER NOT NULL REFERENCES label_classes(id) ON DELETE CASCADE,
  value INTEGER NOT NULL CHECK (value IN (0, 1)),
  PRIMARY KEY (image_id, class_id)
) WITHOUT ROWID;
--> statement-breakpoint
-- Append-only: rows are inserted, never updated or deleted. field is 'label', 'exclude' or 'validation';
-- old_value/new_value are NULL (unknown), 0 or 1. An undo is a new row whose undoes column names the row it reverts.
CREATE TABLE label_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id TEXT NOT NULL REFERENCES label_projects(id) ON DELETE CASCADE,
  image_id INTEGER NOT NULL REFERENCES label_images(id) ON DELETE CASCADE,
  field TEXT NOT NULL CHECK (field IN ('label', 'exclude', 'validation')),
  class_id INTEGER REFERENCES label_classes(id) ON DELETE CASCADE,
  old_value INTEGER,
  new_value INTEGER,
  actor TEXT NOT NULL,
  at INTEGER NOT NULL,
  undoes INTEGER REFERENCES label_history(id)
);
--> statement-breakpoint
CREATE INDEX label_history_project_actor ON label_history (project_id, actor, id);
--> statement-breakpoint
CREATE INDEX label_history_undoes ON label_history (undoes);
--> statement-breakpoint
-- Latest model output per (image, class), written by the active-learning activities.
CREATE TABLE label_predictions (
  image_id INTEGER NOT NULL REFERENCES label_images(id) ON DELETE CASCADE,
  class_id INTEGER NOT NULL REFERENCES label_classes(id) ON DELETE CASCADE,
  p REAL NOT NULL,
  PRIMARY KEY (image_id, class_id)
) WITHOUT ROWID;
