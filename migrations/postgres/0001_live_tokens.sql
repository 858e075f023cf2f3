CREATE TABLE "live_tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"created_at" bigint NOT NULL,
	"hash" text NOT NULL,
	"tenant_id" text NOT NULL,
	"project_id" text NOT NULL,
	"key_id" text NOT NULL,
	"uses_left" integer,
	"uses_total" integer,
	"expires_at" bigint NOT NULL,
	"new_session_expires_at" bigint NOT NULL,
	"setup_json" text,
	"field_mask" text,
	"last_used_at" bigint
);
--> statement-breakpoint
CREATE UNIQUE INDEX "live_tokens_hash_idx" ON "live_tokens" USING btree ("hash");--> statement-breakpoint
CREATE INDEX "live_tokens_project_time_idx" ON "live_tokens" USING btree ("project_id","created_at");