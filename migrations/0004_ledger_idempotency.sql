DROP INDEX `usage_events_request_id_idx`;--> statement-breakpoint
-- Hand-added: keep the first of any rows that share (request_id, endpoint) so the unique index can be built.
DELETE FROM `usage_events` WHERE `id` NOT IN (SELECT min(`id`) FROM `usage_events` GROUP BY `request_id`, `endpoint`);--> statement-breakpoint
CREATE UNIQUE INDEX `usage_events_request_endpoint_uq` ON `usage_events` (`request_id`,`endpoint`);
