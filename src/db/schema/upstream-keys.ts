import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { labels, timestamps } from './columns.js';
import { projects } from './projects.js';

/**
 * A project's own Gemini key (bring your own key). The secret is stored only as AES-256-GCM
 * ciphertext under GATEWAY_SECRET; `last4` and `sha256` are the fingerprint admins see.
 */
export const upstreamKeys = sqliteTable(
  'upstream_keys',
  {
    id: text('id').primaryKey(),
    projectId: text('project_id').notNull().references(() => projects.id),
    name: text('name').notNull().default(''),
    labels: labels(),
    /** `v1.<iv>.<ciphertext>.<tag>` (base64url); emptied on revoke/delete so the secret is gone for good. */
    ciphertext: text('ciphertext').notNull(),
    last4: text('last4').notNull(),
    /** First 16 hex digits of SHA-256(secret): tells two keys apart without revealing either. */
    sha256: text('sha256').notNull(),
    disabledAt: integer('disabled_at'),
    revokedAt: integer('revoked_at'),
    deletedAt: integer('deleted_at'),
    /** Set when rotated: the id of the upstream key that replaced this one. */
    replacedBy: text('replaced_by'),
    ...timestamps,
  },
  (t) => [index('upstream_keys_project_idx').on(t.projectId), index('upstream_keys_created_idx').on(t.createdAt, t.id)],
);
