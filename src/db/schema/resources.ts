import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { timestamps } from './columns.js';
import { projects } from './projects.js';

/**
 * Who owns each upstream resource the gateway has seen created (files, cached contents, batches,
 * interactions, resumable upload sessions), and which upstream key holds it: Google scopes them to
 * the key's project, so requests for them must go to that key.
 */
export const resources = sqliteTable(
  'resources',
  {
    /** Upstream name: `files/abc`, `cachedContents/x`, `batches/x`, `interactions/x`, `uploads/<upload_id>`. */
    name: text('name').primaryKey(),
    kind: text('kind').notNull(),
    tenantId: text('tenant_id').notNull(),
    projectId: text('project_id').notNull().references(() => projects.id),
    upstreamKeyId: text('upstream_key_id'),
    /** The gateway key whose request created it (null when assigned by an admin): a batch metered in the background is billed to it. */
    keyId: text('key_id'),
    /** 'created' (seen in an upstream response) or 'assigned' (by an admin). */
    source: text('source').notNull(),
    /** Batches: when the final state's usage was recorded (exactly once). */
    usageRecordedAt: integer('usage_recorded_at'),
    /** Veo operations: seconds of video per sample the creating request asked for, metered once the operation is done. */
    units: integer('units'),
    ...timestamps,
  },
  (t) => [
    index('resources_project_kind_idx').on(t.projectId, t.kind),
    // The batch poller's scan: batches not yet metered.
    index('resources_kind_unmetered_idx').on(t.kind, t.usageRecordedAt),
  ],
);
