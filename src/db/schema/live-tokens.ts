import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/**
 * Ephemeral tokens the gateway issues for the Live API (`POST /{v}/auth_tokens`), bound to the
 * project and key that created them. Only the SHA-256 of the token is stored.
 */
export const liveTokens = sqliteTable(
  'live_tokens',
  {
    id: text('id').primaryKey(),
    createdAt: integer('created_at').notNull(),
    hash: text('hash').notNull(),
    tenantId: text('tenant_id').notNull(),
    projectId: text('project_id').notNull(),
    /** The key that created it: its scopes, revocation and project apply to every session the token opens. */
    keyId: text('key_id').notNull(),
    /** Sessions it may still open; null = unlimited (Google's `uses: 0`). */
    usesLeft: integer('uses_left'),
    usesTotal: integer('uses_total'),
    /** Epoch ms after which no message may be sent on a session it opened. */
    expiresAt: integer('expires_at').notNull(),
    /** Epoch ms after which it opens no new session. */
    newSessionExpiresAt: integer('new_session_expires_at').notNull(),
    /** `bidiGenerateContentSetup` (JSON) the sessions are held to; null = unconstrained. */
    setupJson: text('setup_json'),
    /** Comma-separated `fieldMask` of locked fields; null = every constrained field locked. */
    fieldMask: text('field_mask'),
    lastUsedAt: integer('last_used_at'),
  },
  (t) => [uniqueIndex('live_tokens_hash_idx').on(t.hash), index('live_tokens_project_time_idx').on(t.projectId, t.createdAt)],
);
