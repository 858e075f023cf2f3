import { z } from '@hono/zod-openapi';

/** The HTTP side of every admin list: its query parameters (the envelope and the cursor codec are in db/pagination.ts). */

/** Query parameters every list route accepts; spread into a route's `z.object({...})`. */
export const pageQuery = {
  cursor: z.string().optional().openapi({ description: "Opaque cursor: the previous page's `nextCursor`." }),
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ description: 'Page size (1–200, default 50).' }),
};

/** `label=team=ml,env=prod` (all must match) or `label=team` (key present). */
export const labelQuery = z
  .string()
  .regex(/^[A-Za-z0-9._/-]+(=[^,]*)?(,[A-Za-z0-9._/-]+(=[^,]*)?)*$/, 'label filter looks like key=value[,key2=value2] or key')
  .optional()
  .openapi({ description: 'Label filter: `key=value[,key2=value2]`, or `key` for presence.' });
