import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { UsageRow } from '../metering/row.js';
import shipped from './prices.json' with { type: 'json' };

/** USD per 1M tokens. Thinking defaults to the output price (Gemini bills thoughts as output). */
const tier = z.object({
  input: z.number().min(0),
  output: z.number().min(0),
  cached_input: z.number().min(0).optional(),
  thinking: z.number().min(0).optional(),
});
const modelPrice = tier.extend({
  /** Gemini prices some models higher when the prompt exceeds a size; that tier replaces all four prices. */
  long_context: tier.extend({ above_prompt_tokens: z.number().int().positive() }).optional(),
});
const table = z.object({
  effective_from: z.iso.date().or(z.iso.datetime({ offset: true })),
  models: z.record(z.string().min(1), modelPrice),
});
const file = z.union([table.passthrough(), z.array(table.passthrough()).min(1)]);

export type PriceTableJson = z.infer<typeof table>;
type ModelPriceJson = z.infer<typeof modelPrice>;

export interface PriceBook {
  /** The tables in force, newest first (shipped plus PRICES_FILE). */
  tables: readonly { effectiveFrom: number; models: Record<string, ModelPriceJson> }[];
  /** The price entry a model had at `at`, or null when no table lists it. */
  priceOf(model: string | null, at: number): ModelPriceJson | null;
  /** Estimated cost in nano-USD (integer, so sums are exact); null when tokens were used by an unpriced model. */
  costNanoUsd(row: Pick<UsageRow, 'model' | 'usage' | 'createdAt'>): number | null;
}

/**
 * Builds the price timeline: for a row at time t, a model's price comes from the newest table
 * (effective_from ≤ t) that lists it; rows older than every table use the oldest entry, the best
 * estimate there is. A model name matches exactly or as a versioned variant (`gemini-2.5-flash-001`).
 */
export function createPriceBook(extra: PriceTableJson[] = []): PriceBook {
  const tables = [table.parse(shipped), ...extra]
    .map((t) => ({ effectiveFrom: Date.parse(t.effective_from), models: t.models }))
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

  return {
    tables,
    priceOf,
    costNanoUsd({ model, usage, createdAt }) {
      if (!usage) return 0;
      const p = priceOf(model, createdAt);
      if (!p) return null;
      const t = p.long_context && usage.promptTokens > p.long_context.above_prompt_tokens ? p.long_context : p;
      const uncached = Math.max(0, usage.promptTokens - usage.cachedTokens);
      const usdPerMillion =
        (uncached + usage.toolUsePromptTokens) * t.input +
        usage.cachedTokens * (t.cached_input ?? t.input) +
        usage.outputTokens * t.output +
        usage.thoughtsTokens * (t.thinking ?? t.output);
      // USD per 1M tokens × tokens = µUSD; × 1000 = nUSD.
      return Math.round(usdPerMillion * 1000);
    },
  };
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
