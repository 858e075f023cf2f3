ALTER TABLE "resources" ADD COLUMN "key_id" text;--> statement-breakpoint
CREATE INDEX "resources_kind_unmetered_idx" ON "resources" USING btree ("kind","usage_recorded_at");