import { z } from '@hono/zod-openapi';
import { ENDPOINT_FAMILIES } from '../scopes/scopes.js';
import { Id, Labels, Name, Timestamp } from './schemas.js';

export const Scopes = z
  .strictObject({
    models: z
      .array(z.string().regex(/^[A-Za-z0-9._\-/*?]{1,128}$/, 'model names or globs: letters, digits, . _ - / * ?'))
      .min(1)
      .optional()
      .openapi({ description: 'Models the key may call: exact names or globs (`gemini-2.5-*`). Omit for any model.', example: ['gemini-2.5-*'] }),
    endpoints: z.array(z.enum(ENDPOINT_FAMILIES)).min(1).optional().openapi({ description: 'Endpoint families the key may use. Omit for all.' }),
    cidrs: z
      .array(z.union([z.cidrv4(), z.cidrv6()]))
      .min(1)
      .optional()
      .openapi({ description: 'Source networks the key may be used from. Omit for anywhere.', example: ['10.0.0.0/8'] }),
  })
  .openapi('KeyScopes');
export type Scopes = z.infer<typeof Scopes>;

export const KeyStatus = z.enum(['active', 'disabled', 'expired', 'revoked', 'deleted']);

export const KeyView = z
  .object({
    id: Id('key'),
    projectId: Id('prj'),
    tenantId: Id('ten'),
    name: z.string(),
    prefix: z.string().openapi({ description: 'The first characters of the secret, for recognising it; never the secret.', example: 'ggw_Q2x9aB3c' }),
    labels: Labels,
    scopes: Scopes,
    status: KeyStatus,
    expiresAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
    disabledAt: Timestamp.nullable(),
    deletedAt: Timestamp.nullable(),
    lastUsedAt: Timestamp.nullable(),
    replacedBy: Id('key').nullable().openapi({ description: 'Set once rotated: the key that replaced this one.' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi('Key');
export type KeyView = z.infer<typeof KeyView>;

export const IssuedKey = z
  .object({ key: KeyView, secret: z.string().openapi({ description: 'The key itself. Shown in this response only; store it now.' }) })
  .openapi('IssuedKey');
export type IssuedKey = z.infer<typeof IssuedKey>;

/** Checked against the gateway's clock when the key is written (accounts/keys.ts), not here: zod has no clock. */
const ExpiresAt = Timestamp.nullable().optional().openapi({ description: 'When the key stops working; must be later than now (400 otherwise). Null or omitted: never.' });
export const KeyCreate = z
  .strictObject({ projectId: Id('prj'), name: Name.optional(), labels: Labels.optional(), scopes: Scopes.optional(), expiresAt: ExpiresAt })
  .openapi('KeyCreate');
export const KeyUpdate = z
  .strictObject({ name: Name.optional(), labels: Labels.optional(), scopes: Scopes.optional(), expiresAt: ExpiresAt })
  .openapi('KeyUpdate');

export const DEFAULT_OVERLAP_SECONDS = 24 * 3600;
export const KeyRotate = z
  .strictObject({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(90 * 24 * 3600)
      .default(DEFAULT_OVERLAP_SECONDS)
      .openapi({ description: 'How long the old secret keeps working (default 86400 = 24 h; 0 = stop now). After it, the old secret fails as expired.' }),
  })
  .openapi('KeyRotate');

export const UpstreamKeyStatus = z.enum(['active', 'disabled', 'revoked', 'deleted']);

export const UpstreamKeyView = z
  .object({
    id: Id('upk'),
    projectId: Id('prj'),
    name: z.string(),
    labels: Labels,
    fingerprint: z.object({ last4: z.string(), sha256: z.string().openapi({ description: 'First 16 hex digits of SHA-256 of the key.' }) }),
    status: UpstreamKeyStatus,
    inUse: z.boolean().openapi({ description: 'Whether its project currently sends this key upstream.' }),
    replacedBy: Id('upk').nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    disabledAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
    deletedAt: Timestamp.nullable(),
  })
  .openapi('UpstreamKey');
export type UpstreamKeyView = z.infer<typeof UpstreamKeyView>;

const UpstreamSecret = z.string().trim().min(8).max(512).openapi({ description: 'The Gemini API key. Stored encrypted; never returned.' });

export const UpstreamKeyCreate = z
  .strictObject({
    projectId: Id('prj'),
    secret: UpstreamSecret,
    name: Name.optional(),
    labels: Labels.optional(),
    attach: z.boolean().default(true).openapi({ description: "Make it the project's upstream key now (default true)." }),
  })
  .openapi('UpstreamKeyCreate');
export const UpstreamKeyUpdate = z.strictObject({ name: Name.optional(), labels: Labels.optional() }).openapi('UpstreamKeyUpdate');
export const UpstreamKeyRotate = z.strictObject({ secret: UpstreamSecret }).openapi('UpstreamKeyRotate');

export type KeyCreate = z.infer<typeof KeyCreate>;
export type KeyUpdate = z.infer<typeof KeyUpdate>;
export type UpstreamKeyCreate = z.input<typeof UpstreamKeyCreate>;
export type UpstreamKeyUpdate = z.infer<typeof UpstreamKeyUpdate>;
