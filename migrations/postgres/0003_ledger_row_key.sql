ALTER TABLE "usage_events" ADD COLUMN "row_key" text;--> statement-breakpoint
CREATE UNIQUE INDEX "usage_events_row_key_uq" ON "usage_events" USING btree ("row_key");