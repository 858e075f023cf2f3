CREATE TABLE `upstream_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`project_id` text NOT NULL,
	`name` text DEFAULT '' NOT NULL,
	`labels` text DEFAULT '{}' NOT NULL,
	`ciphertext` text NOT NULL,
	`last4` text NOT NULL,
	`sha256` text NOT NULL,
	`disabled_at` integer,
	`revoked_at` integer,
	`deleted_at` integer,
	`replaced_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`project_id`) REFERENCES `projects`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `upstream_keys_project_idx` ON `upstream_keys` (`project_id`);--> statement-breakpoint
CREATE INDEX `upstream_keys_created_idx` ON `upstream_keys` (`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `audit_events` (
	`id` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`target_type` text NOT NULL,
	`target_id` text NOT NULL,
	`before` text,
	`after` text,
	`request_id` text
);
--> statement-breakpoint
CREATE INDEX `audit_events_created_idx` ON `audit_events` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `audit_events_target_idx` ON `audit_events` (`target_type`,`target_id`);--> statement-breakpoint
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
DROP INDEX `tenants_slug_uq`;--> statement-breakpoint
CREATE UNIQUE INDEX `tenants_live_slug_uq` ON `tenants` (`slug`) WHERE deleted_at IS NULL;--> statement-breakpoint
CREATE INDEX `tenants_created_idx` ON `tenants` (`created_at`,`id`);--> statement-breakpoint
DROP INDEX `projects_tenant_slug_uq`;--> statement-breakpoint
CREATE UNIQUE INDEX `projects_live_tenant_slug_uq` ON `projects` (`tenant_id`,`slug`) WHERE deleted_at IS NULL;--> statement-breakpoint
CREATE INDEX `projects_tenant_created_idx` ON `projects` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `disabled_at` integer;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `deleted_at` integer;--> statement-breakpoint
CREATE INDEX `api_keys_created_idx` ON `api_keys` (`created_at`,`id`);--> statement-breakpoint
ALTER TABLE `usage_events` ADD `cache_storage_tokens` integer;--> statement-breakpoint
CREATE INDEX `usage_events_upstream_key_time_idx` ON `usage_events` (`upstream_key_id`,`created_at`);