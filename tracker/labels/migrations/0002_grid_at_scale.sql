-- What lets the labeler page pick its cards with index lookups instead of reading the whole project, and the
-- active-learning queue the workflow publishes. The store keeps every derived column and counter below up to date.

-- rand_key: a stable random number per image; the "random" ordering walks (rand_key, id) from a seeded offset.
-- known: how many of the project's active (not retired) classes have a label on this image (0 = unlabeled).
-- entropy: the "max entropy" score, sum over active classes of the binary entropy of the stored prediction, a class
-- without a prediction counting as p = 0.5 (1 bit).
ALTER TABLE label_images ADD COLUMN rand_key INTEGER NOT NULL DEFAULT 0;
--> statement-breakpoint
ALTER TABLE label_images ADD COLUMN known INTEGER NOT NULL DEFAULT 0;
--> statement-breakpoint
ALTER TABLE label_images ADD COLUMN entropy REAL NOT NULL DEFAULT 0;
--> statement-breakpoint
-- h: binary entropy (bits) of p, clipped to [1e-8, 1 - 1e-8] as ml/active/query.ts binaryEntropy does.
ALTER TABLE label_predictions ADD COLUMN h REAL NOT NULL DEFAULT 1;
--> statement-breakpoint
-- predicted: how many images have a prediction for this class (the per-class sorts merge in the rest at p = 0.5).
ALTER TABLE label_classes ADD COLUMN predicted INTEGER NOT NULL DEFAULT 0;
--> statement-breakpoint
ALTER TABLE label_projects ADD COLUMN image_count INTEGER NOT NULL DEFAULT 0;
--> statement-breakpoint

UPDATE label_images SET rand_key = abs(random() % 2147483648);
--> statement-breakpoint
UPDATE label_images SET known = (
  SELECT count(*) FROM label_values v JOIN label_classes c ON c.id = v.class_id
   WHERE v.image_id = label_images.id AND c.retired = 0);
--> statement-breakpoint
UPDATE label_predictions SET h = -(
    max(min(p, 1 - 1e-8), 1e-8) * log2(max(min(p, 1 - 1e-8), 1e-8))
  + (1 - max(min(p, 1 - 1e-8), 1e-8)) * log2(1 - max(min(p, 1 - 1e-8), 1e-8)));
--> statement-breakpoint
UPDATE label_images SET entropy =
  (SELECT count(*) FROM label_classes c WHERE c.project_id = label_images.project_id AND c.retired = 0)
  + coalesce((SELECT sum(p.h - 1) FROM label_predictions p JOIN label_classes c ON c.id = p.class_id
               WHERE p.image_id = label_images.id AND c.retired = 0), 0);
--> statement-breakpoint
UPDATE label_classes SET predicted = (SELECT count(*) FROM label_predictions p WHERE p.class_id = label_classes.id);
--> statement-breakpoint
UPDATE label_projects SET image_count = (SELECT count(*) FROM label_images i WHERE i.project_id = label_projects.id);
--> statement-breakpoint

CREATE INDEX label_images_pick_random ON label_images (project_id, exclude, known, rand_key, id);
--> statement-breakpoint
CREATE INDEX label_images_pick_entropy ON label_images (project_id, exclude, known, entropy DESC, id);
--> statement-breakpoint
CREATE INDEX label_predictions_class_p ON label_predictions (class_id, p, image_id);
--> statement-breakpoint
CREATE INDEX label_predictions_class_h ON label_predictions (class_id, h, image_id);
--> statement-breakpoint

-- Label counts per class for the progress table, training (validation 0) and validation rows apart, excluded images
-- not counted. One row per (class, validation, value).
CREATE TABLE label_class_counts (
  class_id INTEGER NOT NULL REFERENCES label_classes(id) ON DELETE CASCADE,
  validation INTEGER NOT NULL CHECK (validation IN (0, 1)),
  value INTEGER NOT NULL CHECK (value IN (0, 1)),
  n INTEGER NOT NULL,
  PRIMARY KEY (class_id, validation, value)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO label_class_counts (class_id, validation, value, n)
  SELECT v.class_id, i.validation, v.value, count(*)
    FROM label_values v JOIN label_images i ON i.id = v.image_id
   WHERE i.exclude = 0
   GROUP BY v.class_id, i.validation, v.value;
--> statement-breakpoint

-- The project's current active-learning queue (PUT /projects/:project/queue): the round that produced it, the sort it
-- was ranked by, and the images in rank order.
CREATE TABLE label_queues (
  project_id TEXT PRIMARY KEY NOT NULL REFERENCES label_projects(id) ON DELETE CASCADE,
  round INTEGER NOT NULL,
  sort TEXT NOT NULL,
  size INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
--> statement-breakpoint
CREATE TABLE label_queue_items (
  project_id TEXT NOT NULL REFERENCES label_queues(project_id) ON DELETE CASCADE,
  rank INTEGER NOT NULL,
  image_id INTEGER NOT NULL REFERENCES label_images(id) ON DELETE CASCADE,
  PRIMARY KEY (project_id, rank)
) WITHOUT ROWID;
