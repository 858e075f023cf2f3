-- Every gateway LISTENs on gateway_changes and drops its cached view of a table when it is named
-- (docs/postgres-design.md). NOTIFY is delivered at commit, never for a rolled-back transaction, and
-- repeats within one transaction are folded into one.
CREATE OR REPLACE FUNCTION gateway_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('gateway_changes', TG_TABLE_NAME);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER tenants_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants FOR EACH STATEMENT EXECUTE FUNCTION gateway_notify_change();
--> statement-breakpoint
CREATE TRIGGER projects_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON projects FOR EACH STATEMENT EXECUTE FUNCTION gateway_notify_change();
--> statement-breakpoint
-- Not on last_used_at alone: the usage writer touches it every batch, and that must not empty every key cache.
CREATE TRIGGER api_keys_notify_change AFTER INSERT OR DELETE OR TRUNCATE OR UPDATE OF project_id, name, prefix, hash, labels, scopes, expires_at, revoked_at, disabled_at, deleted_at, replaced_by, created_at, updated_at ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION gateway_notify_change();
--> statement-breakpoint
CREATE TRIGGER upstream_keys_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON upstream_keys FOR EACH STATEMENT EXECUTE FUNCTION gateway_notify_change();
--> statement-breakpoint
CREATE TRIGGER project_limits_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON project_limits FOR EACH STATEMENT EXECUTE FUNCTION gateway_notify_change();
--> statement-breakpoint
CREATE TRIGGER resources_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON resources FOR EACH STATEMENT EXECUTE FUNCTION gateway_notify_change();
--> statement-breakpoint
CREATE TRIGGER live_tokens_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON live_tokens FOR EACH STATEMENT EXECUTE FUNCTION gateway_notify_change();
