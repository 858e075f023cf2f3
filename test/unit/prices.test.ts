import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Usage } from '../../src/metering/usage.js';
import { createPriceBook, loadPriceFile } from '../../src/usage/prices.js';

const usage = (prompt: number, output: number, extra: Partial<Usage> = {}): Usage => ({
  promptTokens: prompt, cachedTokens: 0, outputTokens: output, thoughtsTokens: 0, toolUsePromptTokens: 0,
  totalTokens: prompt + output + (extra.thoughtsTokens ?? 0) + (extra.toolUsePromptTokens ?? 0), json: '{}', ...extra,
});
const at = Date.parse('2026-03-01T00:00:00Z');

describe('estimated cost', () => {
  const book = createPriceBook();

  it('prices uncached input, cached input, output and thinking separately (gemini-2.5-flash)', () => {
    // 800 × $0.30 + 200 × $0.03 + 500 × $2.50 + 100 × $2.50 per 1M = 1746 µUSD
    const cost = book.costNanoUsd({ model: 'gemini-2.5-flash', createdAt: at, usage: usage(1000, 500, { cachedTokens: 200, thoughtsTokens: 100 }) });
    expect(cost).toBe(1_746_000);
  });

  it('switches to the long-context tier above the prompt threshold (gemini-2.5-pro)', () => {
    // ≤200k: 200000 × $1.25 + 1000 × $10 = 260000 µUSD; >200k: 200001 × $2.50 + 1000 × $15 = 515002.5 µUSD
    expect(book.costNanoUsd({ model: 'gemini-2.5-pro', createdAt: at, usage: usage(200_000, 1000) })).toBe(260_000_000);
    expect(book.costNanoUsd({ model: 'gemini-2.5-pro', createdAt: at, usage: usage(200_001, 1000) })).toBe(515_002_500);
  });

  it('bills tool-use prompt tokens as input and recognises versioned and models/ names', () => {
    // (100 + 50) × $0.10 + 10 × $0.40 = 19 µUSD
    const u = usage(100, 10, { toolUsePromptTokens: 50 });
    expect(book.costNanoUsd({ model: 'gemini-2.0-flash-001', createdAt: at, usage: u })).toBe(19_000);
    expect(book.costNanoUsd({ model: 'models/gemini-2.0-flash', createdAt: at, usage: u })).toBe(19_000);
    // flash-lite is its own entry, not a variant of flash: 100×0.10 + 10×0.40 = 14 µUSD
    expect(book.costNanoUsd({ model: 'gemini-2.5-flash-lite', createdAt: at, usage: usage(100, 10) })).toBe(14_000);
  });

  it('is null for tokens of an unknown model, and zero when nothing was metered', () => {
    expect(book.costNanoUsd({ model: 'mystery-model', createdAt: at, usage: usage(10, 5) })).toBeNull();
    expect(book.costNanoUsd({ model: null, createdAt: at, usage: usage(10, 5) })).toBeNull();
    expect(book.costNanoUsd({ model: 'mystery-model', createdAt: at, usage: null })).toBe(0);
  });

  it('keeps the prices of the row’s day: an override applies only from its effective_from', () => {
    const later = createPriceBook([{ effective_from: '2026-06-01', models: { 'gemini-2.5-flash': { input: 1, output: 10 }, 'house-model': { input: 2, output: 4 } } }]);
    const u = usage(1000, 100);
    expect(later.costNanoUsd({ model: 'gemini-2.5-flash', createdAt: Date.parse('2026-05-31T23:59:59Z'), usage: u })).toBe(550_000);
    expect(later.costNanoUsd({ model: 'gemini-2.5-flash', createdAt: Date.parse('2026-06-01T00:00:00Z'), usage: u })).toBe(2_000_000);
    // A model only the override knows is priced with its oldest entry before that date: the best estimate there is.
    expect(later.costNanoUsd({ model: 'house-model', createdAt: Date.parse('2026-01-01'), usage: u })).toBe(2_400_000);
  });

  it('reads PRICES_FILE as one table or a list, and says what is wrong with a bad one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ggw-prices-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify([{ effective_from: '2026-02-01', models: { x: { input: 1, output: 2 } } }]));
    expect(loadPriceFile(good)).toHaveLength(1);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ effective_from: 'soon', models: { x: { input: -1 } } }));
    expect(() => loadPriceFile(bad)).toThrow(/PRICES_FILE .*bad\.json/);
  });
});
