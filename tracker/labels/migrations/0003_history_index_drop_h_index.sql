-- The page's "recent changes": the newest history rows of a project without sorting all of them. IF NOT EXISTS: some
-- stores already have it from an earlier copy of 0002.
CREATE INDEX IF NOT EXISTS label_history_project_id ON label_history (project_id, id);
--> statement-breakpoint
-- 'maxent: C' walks the (class_id, p, image_id) index outwards from p = 0.5 instead: keeping an index on h current
-- cost about 40% of every prediction write.
DROP INDEX IF EXISTS label_predictions_class_h;
