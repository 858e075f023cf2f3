ALTER TABLE "usage_events" ADD COLUMN "input_audio_tokens" integer;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "input_image_tokens" integer;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "input_video_tokens" integer;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "input_document_tokens" integer;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "cached_audio_tokens" integer;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "cached_image_tokens" integer;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "cached_video_tokens" integer;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "cached_document_tokens" integer;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "output_image_tokens" integer;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "output_audio_tokens" integer;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "images" integer;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "video_seconds" integer;--> statement-breakpoint
ALTER TABLE "resources" ADD COLUMN "units" integer;--> statement-breakpoint
ALTER TABLE "usage_rollups_daily" ADD COLUMN "input_audio_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_daily" ADD COLUMN "input_image_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_daily" ADD COLUMN "input_video_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_daily" ADD COLUMN "input_document_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_daily" ADD COLUMN "cached_audio_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_daily" ADD COLUMN "cached_image_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_daily" ADD COLUMN "cached_video_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_daily" ADD COLUMN "cached_document_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_daily" ADD COLUMN "output_image_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_daily" ADD COLUMN "output_audio_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_daily" ADD COLUMN "images" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_daily" ADD COLUMN "video_seconds" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_hourly" ADD COLUMN "input_audio_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_hourly" ADD COLUMN "input_image_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_hourly" ADD COLUMN "input_video_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_hourly" ADD COLUMN "input_document_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_hourly" ADD COLUMN "cached_audio_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_hourly" ADD COLUMN "cached_image_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_hourly" ADD COLUMN "cached_video_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_hourly" ADD COLUMN "cached_document_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_hourly" ADD COLUMN "output_image_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_hourly" ADD COLUMN "output_audio_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_hourly" ADD COLUMN "images" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_hourly" ADD COLUMN "video_seconds" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_monthly" ADD COLUMN "input_audio_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_monthly" ADD COLUMN "input_image_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_monthly" ADD COLUMN "input_video_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_monthly" ADD COLUMN "input_document_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_monthly" ADD COLUMN "cached_audio_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_monthly" ADD COLUMN "cached_image_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_monthly" ADD COLUMN "cached_video_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_monthly" ADD COLUMN "cached_document_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_monthly" ADD COLUMN "output_image_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_monthly" ADD COLUMN "output_audio_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_monthly" ADD COLUMN "images" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_rollups_monthly" ADD COLUMN "video_seconds" bigint DEFAULT 0 NOT NULL;