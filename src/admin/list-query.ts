import { z } from '@hono/zod-openapi';

/** The HTTP side of every admin list: its query parameters and its response envelope (see db/pagination.ts for the query side). */

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

/** The response shape of a list: one page of items and the cursor of the next page (null at the end). */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), nextCursor: z.string().nullable() });
}
