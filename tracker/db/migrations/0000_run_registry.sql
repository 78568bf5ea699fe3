CREATE TABLE `runs` (
	`id` text PRIMARY KEY NOT NULL,
	`workflow_id` text,
	`status` text NOT NULL,
	`hparams` text,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`updated_at` integer NOT NULL,
	`last_step` integer,
	`session_start_step` integer NOT NULL,
	`sessions` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `run_tags` (
	`run_id` text NOT NULL,
	`tag` text NOT NULL,
	`kind` text NOT NULL,
	`last_step` integer NOT NULL,
	PRIMARY KEY(`run_id`, `tag`),
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `batches` (
	`run_id` text NOT NULL,
	`batch_id` text NOT NULL,
	`items` integer NOT NULL,
	`written` integer NOT NULL,
	`received_at` integer NOT NULL,
	PRIMARY KEY(`run_id`, `batch_id`),
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE cascade
);
