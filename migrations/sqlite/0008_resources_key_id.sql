ALTER TABLE `resources` ADD `key_id` text;--> statement-breakpoint
CREATE INDEX `resources_kind_unmetered_idx` ON `resources` (`kind`,`usage_recorded_at`);