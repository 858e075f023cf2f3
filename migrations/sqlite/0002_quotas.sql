CREATE TABLE `project_limits` (
	`project_id` text PRIMARY KEY NOT NULL,
	`hard_cap` integer DEFAULT 0 NOT NULL,
	`rules` text DEFAULT '[]' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `quota_counters` (
	`project_id` text NOT NULL,
	`dimension` text NOT NULL,
	`value` text NOT NULL,
	`window_kind` text NOT NULL,
	`window_start` integer NOT NULL,
	`tokens` integer DEFAULT 0 NOT NULL,
	`requests` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`project_id`, `dimension`, `value`, `window_kind`, `window_start`)
);
--> statement-breakpoint
CREATE INDEX `quota_counters_window_idx` ON `quota_counters` (`window_kind`,`window_start`);