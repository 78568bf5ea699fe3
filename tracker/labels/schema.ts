// Drizzle schema of the label store. The tables are created by the hand-written SQL in ./migrations (drizzle-kit needs a
// network-free setup we do not have in CI), so this file and the newest migration must describe the same tables.
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
  },
  (t) => [
    unique().on(t.projectId, t.key),
    index('label_images_project_position').on(t.projectId, t.position),
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
  },
  (t) => [primaryKey({ columns: [t.imageId, t.classId] })],
);
