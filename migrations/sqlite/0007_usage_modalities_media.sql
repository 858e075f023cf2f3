ALTER TABLE `usage_events` ADD `input_audio_tokens` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `input_image_tokens` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `input_video_tokens` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `input_document_tokens` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `cached_audio_tokens` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `cached_image_tokens` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `cached_video_tokens` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `cached_document_tokens` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `output_image_tokens` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `output_audio_tokens` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `images` integer;--> statement-breakpoint
ALTER TABLE `usage_events` ADD `video_seconds` integer;--> statement-breakpoint
ALTER TABLE `resources` ADD `units` integer;--> statement-breakpoint
ALTER TABLE `usage_rollups_daily` ADD `input_audio_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_daily` ADD `input_image_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_daily` ADD `input_video_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_daily` ADD `input_document_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_daily` ADD `cached_audio_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_daily` ADD `cached_image_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_daily` ADD `cached_video_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_daily` ADD `cached_document_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_daily` ADD `output_image_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_daily` ADD `output_audio_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_daily` ADD `images` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_daily` ADD `video_seconds` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_hourly` ADD `input_audio_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_hourly` ADD `input_image_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_hourly` ADD `input_video_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_hourly` ADD `input_document_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_hourly` ADD `cached_audio_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_hourly` ADD `cached_image_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_hourly` ADD `cached_video_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_hourly` ADD `cached_document_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_hourly` ADD `output_image_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_hourly` ADD `output_audio_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_hourly` ADD `images` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_hourly` ADD `video_seconds` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_monthly` ADD `input_audio_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_monthly` ADD `input_image_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_monthly` ADD `input_video_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_monthly` ADD `input_document_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_monthly` ADD `cached_audio_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_monthly` ADD `cached_image_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_monthly` ADD `cached_video_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_monthly` ADD `cached_document_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_monthly` ADD `output_image_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_monthly` ADD `output_audio_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_monthly` ADD `images` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups_monthly` ADD `video_seconds` integer DEFAULT 0 NOT NULL;