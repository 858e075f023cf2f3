import { z } from '@hono/zod-openapi';

/**
 * Request and response shapes shared by the admin API (validation + OpenAPI) and the CLI
 * (the same validation), so both surfaces accept exactly the same input.
 */

export const Slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes (at most 63), starting with a letter or digit')
  .openapi({ example: 'ml-platform' });

export const Name = z.string().trim().min(1).max(200);

export const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;

/**
 * Labels are stored as JSON and filtered through Postgres's jsonb, which cannot hold U+0000 or an
 * unpaired surrogate: one such value, once stored, would make every label filter on its table fail.
 */
const LABEL_VALUE_UNSTORABLE = /[\u0000\p{Cs}]/u;

export const Labels = z
  .record(
    z.string().regex(LABEL_KEY, 'label keys are letters, digits and . _ / - (at most 63)'),
    z.string().max(256).refine((v) => !LABEL_VALUE_UNSTORABLE.test(v), 'label values must not contain a NUL character (\\u0000) or an unpaired surrogate'),
  )
  .refine((o) => Object.keys(o).length <= 32, 'at most 32 labels')
  .openapi('Labels', { description: 'Free-form string labels; an update replaces the whole set.', example: { team: 'search', env: 'prod' } });

export const Timestamp = z.iso.datetime({ offset: true }).openapi({ example: '2026-01-31T12:00:00.000Z' });

export const Id = (prefix: string) => z.string().min(1).max(64).openapi({ example: `${prefix}_3kq9Zb1xQm0aPp7L` });

export const idParam = z.object({ id: Id('id').openapi({ param: { name: 'id', in: 'path' } }) });

export const ContainerStatus = z.enum(['active', 'disabled', 'deleted']);

const lifecycle = {
  createdAt: Timestamp,
  updatedAt: Timestamp,
  disabledAt: Timestamp.nullable(),
  deletedAt: Timestamp.nullable(),
};

export const TenantView = z
  .object({ id: Id('ten'), slug: Slug, name: z.string(), labels: Labels, status: ContainerStatus, ...lifecycle })
  .openapi('Tenant');
export type TenantView = z.infer<typeof TenantView>;

export const TenantCreate = z.strictObject({ slug: Slug, name: Name.optional(), labels: Labels.optional() }).openapi('TenantCreate');
export const TenantUpdate = z.strictObject({ name: Name.optional(), labels: Labels.optional() }).openapi('TenantUpdate');

export const ProjectView = z
  .object({
    id: Id('prj'),
    tenantId: Id('ten'),
    slug: Slug,
    name: z.string(),
    labels: Labels,
    status: ContainerStatus,
    upstreamKeyId: Id('upk').nullable().openapi({ description: "The project's own upstream key; null = the gateway's default." }),
    ...lifecycle,
  })
  .openapi('Project');
export type ProjectView = z.infer<typeof ProjectView>;

export const ProjectCreate = z
  .strictObject({ tenantId: Id('ten').openapi({ description: 'Tenant id or slug.' }), slug: Slug, name: Name.optional(), labels: Labels.optional() })
  .openapi('ProjectCreate');
export const ProjectUpdate = z
  .strictObject({
    name: Name.optional(),
    labels: Labels.optional(),
    upstreamKeyId: Id('upk').nullable().optional().openapi({ description: "Switch to another of the project's upstream keys, or null for the gateway's default." }),
  })
  .openapi('ProjectUpdate');

export type TenantCreate = z.infer<typeof TenantCreate>;
export type TenantUpdate = z.infer<typeof TenantUpdate>;
export type ProjectCreate = z.infer<typeof ProjectCreate>;
export type ProjectUpdate = z.infer<typeof ProjectUpdate>;
