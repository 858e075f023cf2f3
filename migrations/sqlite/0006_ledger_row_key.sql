ALTER TABLE `usage_events` ADD `row_key` text;--> statement-breakpoint
CREATE UNIQUE INDEX `usage_events_row_key_uq` ON `usage_events` (`row_key`);