import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { UsageRow } from '../metering/row.js';
import type { Usage } from '../metering/usage.js';
import shipped from './prices.json' with { type: 'json' };

/**
 * USD per 1M tokens. Thinking defaults to the output price (Gemini bills thoughts as output); a
 * modality without its own rate is billed at its part's text rate (image and video input cost what
 * text input costs; audio input and image output do not).
 */
const tier = z.object({
  input: z.number().min(0),
  output: z.number().min(0),
  cached_input: z.number().min(0).optional(),
  thinking: z.number().min(0).optional(),
  input_audio: z.number().min(0).optional(),
  cached_input_audio: z.number().min(0).optional(),
  output_image: z.number().min(0).optional(),
  output_audio: z.number().min(0).optional(),
});
const modelPrice = tier.extend({
  /** Gemini prices some models higher when the prompt exceeds a size; that tier replaces every token price. */
  long_context: tier.extend({ above_prompt_tokens: z.number().int().positive() }).optional(),
  /** Imagen: USD per generated image. */
  per_image: z.number().min(0).optional(),
  /** Veo: USD per second of generated video. */
  per_video_second: z.number().min(0).optional(),
});
const table = z.object({
  effective_from: z.iso.date().or(z.iso.datetime({ offset: true })),
  /** Fraction taken off batch usage (Gemini's Batch API bills 50% of the standard price). */
  batch_discount: z.number().min(0).max(1).optional(),
  models: z.record(z.string().min(1), modelPrice),
});
const file = z.union([table.passthrough(), z.array(table.passthrough()).min(1)]);

export type PriceTableJson = z.infer<typeof table>;
type ModelPriceJson = z.infer<typeof modelPrice>;

export interface PriceBook {
  /** The tables in force, newest first (shipped plus PRICES_FILE). */
  tables: readonly { effectiveFrom: number; batchDiscount: number; models: Record<string, ModelPriceJson> }[];
  /** The price entry a model had at `at`, or null when no table lists it. */
  priceOf(model: string | null, at: number): ModelPriceJson | null;
  /** Estimated cost in nano-USD (integer, so sums are exact); null when tokens were used by an unpriced model. */
  costNanoUsd(row: Pick<UsageRow, 'model' | 'usage' | 'createdAt'> & { endpoint?: string }): number | null;
}

/**
 * Builds the price timeline: for a row at time t, a model's price comes from the newest table
 * (effective_from ≤ t) that lists it; rows older than every table use the oldest entry, the best
 * estimate there is. A model name matches exactly or as a versioned variant (`gemini-2.5-flash-001`).
 */
export function createPriceBook(extra: PriceTableJson[] = []): PriceBook {
  // The shipped file is a list: one table per dated change (newest first), like a PRICES_FILE may be.
  const tables = [...z.array(table).parse(shipped), ...extra]
    .map((t) => ({ effectiveFrom: Date.parse(t.effective_from), batchDiscount: t.batch_discount ?? DEFAULT_BATCH_DISCOUNT, models: t.models }))
    .sort((a, b) => b.effectiveFrom - a.effectiveFrom);
  const names = [...new Set(tables.flatMap((t) => Object.keys(t.models)))].sort((a, b) => b.length - a.length);
  const canonical = new Map<string, string | null>();

  function canonicalName(model: string): string | null {
    let hit = canonical.get(model);
    if (hit === undefined) {
      const bare = model.replace(/^(?:models|tunedModels)\//, '');
      hit = names.find((n) => bare === n || bare.startsWith(`${n}-`)) ?? null;
      if (canonical.size < 10_000) canonical.set(model, hit);
    }
    return hit;
  }

  function priceOf(model: string | null, at: number): ModelPriceJson | null {
    const name = model === null ? null : canonicalName(model);
    if (name === null) return null;
    let oldest: ModelPriceJson | null = null;
    for (const t of tables) {
      const p = t.models[name];
      if (!p) continue;
      if (t.effectiveFrom <= at) return p;
      oldest = p;
    }
    return oldest;
  }

  /** The batch discount of the newest table in force at `at` (the oldest table's before every table). */
  function batchDiscountAt(at: number): number {
    return (tables.find((t) => t.effectiveFrom <= at) ?? tables.at(-1)!).batchDiscount;
  }

  return {
    tables,
    priceOf,
    costNanoUsd({ model, usage, createdAt, endpoint }) {
      if (!usage) return 0;
      const p = priceOf(model, createdAt);
      if (!p) return null;
      const usdPerMillion = usage.parts?.length ? usage.parts.reduce((sum, part) => sum + tokenCost(p, part), 0) : tokenCost(p, usage);
      // USD per 1M tokens × tokens = µUSD; × 1000 = nUSD. Per-unit media prices are USD: × 1e9.
      const media = (usage.images ?? 0) * (p.per_image ?? 0) + (usage.videoSeconds ?? 0) * (p.per_video_second ?? 0);
      const full = usdPerMillion * 1000 + media * 1e9;
      const discount = endpoint !== undefined && isBatchEndpoint(endpoint) ? batchDiscountAt(createdAt) : 0;
      return Math.round(full * (1 - discount));
    },
  };
}

/** Gemini's batch discount and the standard price an operator sees when they check the table. */
const DEFAULT_BATCH_DISCOUNT = 0.5;

/** Rows of work done by the Batch API (`batches.completed`, written when a batch reaches a final state). */
export const isBatchEndpoint = (endpoint: string): boolean => endpoint.startsWith('batches.');

/** USD per 1M tokens × tokens, each part split by modality: text is what the listed modalities leave. */
function tokenCost(p: ModelPriceJson, u: Usage): number {
  const t = p.long_context && u.promptTokens > p.long_context.above_prompt_tokens ? p.long_context : p;
  const cachedAudio = Math.min(u.cachedAudioTokens ?? 0, u.cachedTokens);
  const inputAudio = Math.max(0, (u.inputAudioTokens ?? 0) - cachedAudio);
  const uncached = Math.max(0, u.promptTokens - u.cachedTokens) + u.toolUsePromptTokens;
  const outputImage = Math.min(u.outputImageTokens ?? 0, u.outputTokens);
  const outputAudio = Math.min(u.outputAudioTokens ?? 0, u.outputTokens - outputImage);
  const cachedRate = t.cached_input ?? t.input;
  return (
    Math.max(0, uncached - inputAudio) * t.input +
    Math.min(inputAudio, uncached) * (t.input_audio ?? t.input) +
    (u.cachedTokens - cachedAudio) * cachedRate +
    cachedAudio * (t.cached_input_audio ?? cachedRate) +
    (u.outputTokens - outputImage - outputAudio) * t.output +
    outputImage * (t.output_image ?? t.output) +
    outputAudio * (t.output_audio ?? t.output) +
    u.thoughtsTokens * (t.thinking ?? t.output)
  );
}

/** Reads PRICES_FILE (one table or an array of tables, same shape as the shipped prices.json). */
export function loadPriceFile(path: string): PriceTableJson[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`PRICES_FILE ${path}: ${(err as Error).message}`);
  }
  const result = file.safeParse(parsed);
  if (!result.success) {
    throw new Error(`PRICES_FILE ${path}: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return Array.isArray(result.data) ? result.data : [result.data];
}
