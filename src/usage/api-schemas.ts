import { z } from '@hono/zod-openapi';
import { pageOf } from '../db/pagination.js';
import type { PriceBook } from './prices.js';

/**
 * Response shapes of the usage endpoints (admin and self-service alike), for the OpenAPI documents.
 * The handlers build these objects in aggregate.ts and events.ts; the schemas say what they hold.
 */

const count = z.number().int();
const tokens = z.number().int();
const ms = z.number().int().nullable();

export const UsageMetrics = z
  .object({
    requests: count,
    errors: count.openapi({ description: 'Every outcome except ok, client_aborted and token_expired' }),
    aborted: count,
    promptTokens: tokens,
    cachedTokens: tokens,
    outputTokens: tokens,
    thoughtsTokens: tokens,
    toolUsePromptTokens: tokens,
    totalTokens: tokens,
    cacheStorageTokens: tokens,
    estimatedCostUsd: z.number().nullable().openapi({ description: 'Estimate from the price table in force when each row was recorded; null when only unpriced models used tokens' }),
    unpricedRequests: count,
    latencyMsAvg: ms,
    latencyMsP50: ms.openapi({ description: 'Approximate (histogram buckets)' }),
    latencyMsP95: ms,
    ttfbMsP50: ms,
    ttfbMsP95: ms,
  })
  .openapi('UsageMetrics');

export const UsageGroup = UsageMetrics.extend({
  hour: z.string().optional().openapi({ description: 'With groupBy=hour: the hour, ISO 8601' }),
  day: z.string().optional().openapi({ description: 'With groupBy=day: YYYY-MM-DD (UTC)' }),
  month: z.string().optional().openapi({ description: 'With groupBy=month: YYYY-MM (UTC)' }),
  tenantId: z.string().optional(),
  tenant: z.string().nullable().optional().openapi({ description: 'Tenant slug' }),
  projectId: z.string().optional(),
  project: z.string().nullable().optional().openapi({ description: 'Project slug' }),
  keyId: z.string().optional(),
  keyPrefix: z.string().nullable().optional(),
  model: z.string().nullable().optional(),
  endpoint: z.string().optional(),
  outcome: z.string().optional(),
}).openapi('UsageGroup');

export const UsageReport = z
  .object({
    from: z.string().openapi({ description: 'Inclusive, ISO 8601' }),
    to: z.string().openapi({ description: 'Exclusive, ISO 8601' }),
    groupBy: z.array(z.string()),
    groups: z.array(UsageGroup),
    totals: UsageMetrics,
    notes: z.record(z.string(), z.string()).openapi({ description: 'How to read the numbers (estimates, approximations, range)' }),
  })
  .openapi('UsageReport');

export const UsageEvent = z
  .object({
    id: z.number().int(),
    createdAt: z.string(),
    requestId: z.string(),
    tenantId: z.string(),
    tenant: z.string().nullable(),
    projectId: z.string(),
    project: z.string().nullable(),
    keyId: z.string(),
    keyPrefix: z.string().nullable(),
    method: z.string(),
    apiVersion: z.string().nullable(),
    endpoint: z.string(),
    model: z.string().nullable(),
    stream: z.boolean(),
    status: z.number().int(),
    outcome: z.string(),
    promptTokens: tokens.nullable(),
    cachedTokens: tokens.nullable(),
    outputTokens: tokens.nullable(),
    thoughtsTokens: tokens.nullable(),
    toolUsePromptTokens: tokens.nullable(),
    totalTokens: tokens.nullable(),
    cacheStorageTokens: tokens.nullable(),
    estimatedCostUsd: z.number().nullable(),
    ttfbMs: ms,
    latencyMs: z.number().int(),
    bytesIn: z.number().int(),
    bytesOut: z.number().int(),
  })
  .openapi('UsageEvent');

export const UsageEventPage = pageOf(UsageEvent);

/** JSON or, with format=csv, the same rows as CSV. */
export const jsonOrCsv = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema }, 'text/csv': { schema: z.string() } },
});

const Tier = z.object({
  input: z.number(),
  output: z.number(),
  cachedInput: z.number().optional(),
  thinking: z.number().optional(),
  inputAudio: z.number().optional(),
  cachedInputAudio: z.number().optional(),
  outputImage: z.number().optional(),
  outputAudio: z.number().optional(),
});
const ModelPrice = Tier.extend({
  longContext: Tier.extend({ abovePromptTokens: z.number().int() }).optional().openapi({ description: 'Token prices that replace the ones above when the prompt is larger' }),
  perImage: z.number().optional().openapi({ description: 'USD per generated image' }),
  perVideoSecond: z.number().optional().openapi({ description: 'USD per second of generated video' }),
}).openapi('ModelPrice');

export const PriceTable = z
  .object({
    effectiveFrom: z.string(),
    batchDiscount: z.number().openapi({ description: 'Fraction taken off Batch API usage' }),
    models: z.record(z.string(), ModelPrice).openapi({ description: 'USD per 1M tokens (per unit for perImage, perVideoSecond), by model name' }),
  })
  .openapi('PriceTable');

export const UnpricedModel = z.object({ model: z.string().nullable(), requests: z.number().int() }).openapi('UnpricedModel');

export const ProjectUtilisation = z
  .object({
    projectId: z.string(),
    utilisation: z.number().openapi({ description: '(used + reserved) / limit of the tightest project-wide limit; may exceed 1' }),
    limit: z.string().openapi({ description: 'The limit it belongs to, e.g. tokensPerDay' }),
  })
  .openapi('ProjectUtilisation');

/** The price book in the API's names (the price file keeps its own snake_case format): every rate the estimates use. */
export function priceTables(prices: PriceBook): z.infer<typeof PriceTable>[] {
  return prices.tables.map((t) => ({
    effectiveFrom: new Date(t.effectiveFrom).toISOString(),
    batchDiscount: t.batchDiscount,
    models: Object.fromEntries(
      Object.entries(t.models).map(([name, p]) => [
        name,
        {
          ...tier(p),
          ...(p.long_context && { longContext: { ...tier(p.long_context), abovePromptTokens: p.long_context.above_prompt_tokens } }),
          ...(p.per_image !== undefined && { perImage: p.per_image }),
          ...(p.per_video_second !== undefined && { perVideoSecond: p.per_video_second }),
        },
      ]),
    ),
  }));
}

type TierJson = Pick<PriceBook['tables'][number]['models'][string], 'input' | 'output' | (typeof OPTIONAL_RATES)[number][0]>;

/** The optional token rates, file name → API name. */
const OPTIONAL_RATES = [
  ['cached_input', 'cachedInput'], ['thinking', 'thinking'], ['input_audio', 'inputAudio'],
  ['cached_input_audio', 'cachedInputAudio'], ['output_image', 'outputImage'], ['output_audio', 'outputAudio'],
] as const;

function tier(p: TierJson): z.infer<typeof Tier> {
  const out: z.infer<typeof Tier> = { input: p.input, output: p.output };
  for (const [file, api] of OPTIONAL_RATES) if (p[file] !== undefined) out[api] = p[file];
  return out;
}
