import { z } from '@hono/zod-openapi';

/** Google's rpc.Status error body: what tenant clients (the SDKs) already parse. */
export const GoogleError = z
  .object({
    error: z.object({
      code: z.number().int(),
      message: z.string(),
      status: z.string().openapi({ example: 'UNAUTHENTICATED' }),
      details: z.array(z.record(z.string(), z.unknown())).optional(),
    }),
  })
  .openapi('GoogleError');

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request (validation failed)',
  401: 'Missing or unknown key',
  403: "The key's cidrs scope does not include the caller's address",
  429: 'Too many failed key checks from this address',
};

/** Error responses every self-service route may give, plus the ones named. */
export function googleErrors(...codes: number[]) {
  const all = [...new Set([400, 401, 403, 429, ...codes])].sort();
  return Object.fromEntries(all.map((code) => [code, { description: ERROR_TEXT[code] ?? 'Error', content: { 'application/json': { schema: GoogleError } } }]));
}
