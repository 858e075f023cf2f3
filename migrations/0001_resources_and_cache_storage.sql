CREATE TABLE `resources` (
	`name` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`tenant_id` text NOT NULL,
	`project_id` text NOT NULL,
	`upstream_key_id` text,
	`source` text NOT NULL,
	`usage_recorded_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `resources_project_kind_idx` ON `resources` (`project_id`,`kind`);--> statement-breakpoint
ALTER TABLE `usage_events` ADD `cache_storage_tokens` integer;--> statement-breakpoint
CREATE INDEX `usage_events_upstream_key_time_idx` ON `usage_events` (`upstream_key_id`,`created_at`);