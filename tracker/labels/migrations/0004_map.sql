-- The labeler's map: 2-D points of a project's images from one model's embeddings (the model hash), and each
-- labeler's lasso selection on it.
CREATE TABLE label_maps (
  project_id TEXT PRIMARY KEY NOT NULL REFERENCES label_projects(id) ON DELETE CASCADE,
  model_hash TEXT NOT NULL,
  method TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
--> statement-breakpoint
CREATE TABLE label_map_points (
  project_id TEXT NOT NULL REFERENCES label_projects(id) ON DELETE CASCADE,
  image_id INTEGER NOT NULL REFERENCES label_images(id) ON DELETE CASCADE,
  model_hash TEXT NOT NULL,
  method TEXT NOT NULL,
  x REAL NOT NULL,
  y REAL NOT NULL,
  PRIMARY KEY (project_id, image_id)
);
--> statement-breakpoint
CREATE TABLE label_map_selection (
  project_id TEXT NOT NULL REFERENCES label_projects(id) ON DELETE CASCADE,
  actor TEXT NOT NULL,
  image_id INTEGER NOT NULL REFERENCES label_images(id) ON DELETE CASCADE,
  PRIMARY KEY (project_id, actor, image_id)
);
