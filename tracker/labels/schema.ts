// Drizzle schema of the label store. The tables are created by the SQL files in ./migrations, applied by drizzle's
// migrator (migrate.ts); they are written by hand, not generated, so this file and the migrations must describe the same
// tables (a new numbered migration for every change, never an edit of an applied one's statements).
import { sql } from 'drizzle-orm';
import {
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  unique,
  type AnySQLiteColumn,
} from 'drizzle-orm/sqlite-core';

export const projects = sqliteTable('label_projects', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** Prefix inside the tracker's image Storage under which this project's image keys live ('' = the root). */
  root: text('root').notNull().default(''),
  createdAt: integer('created_at').notNull(),
  imageCount: integer('image_count').notNull().default(0),
});

export const images = sqliteTable(
  'label_images',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    viewKey: text('view_key'),
    position: integer('position').notNull(),
    exclude: integer('exclude').notNull().default(0),
    validation: integer('validation').notNull().default(0),
    /** Stable random number: the random ordering walks (randKey, id) from a seeded offset. */
    randKey: integer('rand_key').notNull().default(0),
    /** Active classes with a label on this image. */
    known: integer('known').notNull().default(0),
    /** Sum over active classes of the binary entropy of the prediction (1 bit where there is none). */
    entropy: real('entropy').notNull().default(0),
  },
  (t) => [
    unique().on(t.projectId, t.key),
    index('label_images_project_position').on(t.projectId, t.position),
    index('label_images_pick_random').on(t.projectId, t.exclude, t.known, t.randKey, t.id),
    index('label_images_pick_entropy').on(t.projectId, t.exclude, t.known, sql`entropy DESC`, t.id),
  ],
);

export const classes = sqliteTable(
  'label_classes',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    position: integer('position').notNull(),
    retired: integer('retired').notNull().default(0),
    /** Images with a prediction for this class. */
    predicted: integer('predicted').notNull().default(0),
  },
  (t) => [unique().on(t.projectId, t.name)],
);

export const values = sqliteTable(
  'label_values',
  {
    imageId: integer('image_id')
      .notNull()
      .references(() => images.id, { onDelete: 'cascade' }),
    classId: integer('class_id')
      .notNull()
      .references(() => classes.id, { onDelete: 'cascade' }),
    value: integer('value').notNull(),
  },
  (t) => [primaryKey({ columns: [t.imageId, t.classId] })],
);

export const history = sqliteTable(
  'label_history',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    imageId: integer('image_id')
      .notNull()
      .references(() => images.id, { onDelete: 'cascade' }),
    field: text('field', { enum: ['label', 'exclude', 'validation'] }).notNull(),
    classId: integer('class_id').references(() => classes.id, { onDelete: 'cascade' }),
    oldValue: integer('old_value'),
    newValue: integer('new_value'),
    actor: text('actor').notNull(),
    at: integer('at').notNull(),
    undoes: integer('undoes').references((): AnySQLiteColumn => history.id),
  },
  (t) => [
    index('label_history_project_actor').on(t.projectId, t.actor, t.id),
    index('label_history_undoes').on(t.undoes),
    index('label_history_project_id').on(t.projectId, t.id),
  ],
);

export const predictions = sqliteTable(
  'label_predictions',
  {
    imageId: integer('image_id')
      .notNull()
      .references(() => images.id, { onDelete: 'cascade' }),
    classId: integer('class_id')
      .notNull()
      .references(() => classes.id, { onDelete: 'cascade' }),
    p: real('p').notNull(),
    /** Binary entropy of p in bits. */
    h: real('h').notNull().default(1),
  },
  (t) => [
    primaryKey({ columns: [t.imageId, t.classId] }),
    index('label_predictions_class_p').on(t.classId, t.p, t.imageId),
  ],
);

export const classCounts = sqliteTable(
  'label_class_counts',
  {
    classId: integer('class_id')
      .notNull()
      .references(() => classes.id, { onDelete: 'cascade' }),
    validation: integer('validation').notNull(),
    value: integer('value').notNull(),
    n: integer('n').notNull(),
  },
  (t) => [primaryKey({ columns: [t.classId, t.validation, t.value] })],
);

export const queues = sqliteTable('label_queues', {
  projectId: text('project_id')
    .primaryKey()
    .references(() => projects.id, { onDelete: 'cascade' }),
  round: integer('round').notNull(),
  sort: text('sort').notNull(),
  size: integer('size').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const queueItems = sqliteTable(
  'label_queue_items',
  {
    projectId: text('project_id')
      .notNull()
      .references(() => queues.projectId, { onDelete: 'cascade' }),
    rank: integer('rank').notNull(),
    imageId: integer('image_id')
      .notNull()
      .references(() => images.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.rank] })],
);

/** The project's current map: which model's embeddings its points come from. */
export const maps = sqliteTable('label_maps', {
  projectId: text('project_id')
    .primaryKey()
    .references(() => projects.id, { onDelete: 'cascade' }),
  modelHash: text('model_hash').notNull(),
  method: text('method').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const mapPoints = sqliteTable(
  'label_map_points',
  {
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    imageId: integer('image_id')
      .notNull()
      .references(() => images.id, { onDelete: 'cascade' }),
    modelHash: text('model_hash').notNull(),
    method: text('method').notNull(),
    x: real('x').notNull(),
    y: real('y').notNull(),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.imageId] })],
);

/** Each labeler's lasso selection on the map (the grid's 'map selection' subset). */
export const mapSelection = sqliteTable(
  'label_map_selection',
  {
    projectId: text('project_id')
      .notNull()
      .references(() => projects.id, { onDelete: 'cascade' }),
    actor: text('actor').notNull(),
    imageId: integer('image_id')
      .notNull()
      .references(() => images.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.projectId, t.actor, t.imageId] })],
);
