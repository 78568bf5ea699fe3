-- The page's "recent changes": the newest history rows of a project without sorting all of them. (0002 as first
-- committed lacked it and a later copy of 0002 had it, hence IF NOT EXISTS.)
CREATE INDEX IF NOT EXISTS label_history_project_id ON label_history (project_id, id);
-- 'maxent: C' walks the (class_id, p, image_id) index outwards from p = 0.5 instead: keeping an index on h current
-- cost about 40% of every prediction write.
DROP INDEX IF EXISTS label_predictions_class_h;
