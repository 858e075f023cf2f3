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

  it('ships dated changes: Veo 3.1 Fast costs $0.15/s until 2026-04-06 and $0.12/s from 2026-04-07, under its preview and GA ids', () => {
    const video = (seconds: number): Usage => ({ ...usage(0, 0), videoSeconds: seconds });
    const before = Date.parse('2026-04-06T23:59:59Z');
    const after = Date.parse('2026-04-07T00:00:00Z');
    for (const model of ['veo-3.1-fast-generate-preview', 'veo-3.1-fast-generate-001']) {
      expect(book.costNanoUsd({ model, createdAt: before, usage: video(8) })).toBe(1_200_000_000); // 8 × $0.15
      expect(book.costNanoUsd({ model, createdAt: after, usage: video(8) })).toBe(960_000_000); // 8 × $0.12
    }
    expect(book.costNanoUsd({ model: 'veo-3.1-lite-generate-preview', createdAt: after, usage: video(8) })).toBe(640_000_000); // 8 × $0.08
    expect(book.costNanoUsd({ model: 'veo-3.1-generate-preview', createdAt: after, usage: video(8) })).toBe(3_200_000_000); // 8 × $0.40
  });

  it('prices the 3.1 models added in 2026: Gemini 3.1 Pro with its long-context tier, Gemini 3.1 Flash-Lite', () => {
    const may = Date.parse('2026-05-01T00:00:00Z');
    // 1000 × $2 + 100 × $12 = 3200 µUSD; above 200k: 200001 × $4 + 100 × $18 = 801804 µUSD
    expect(book.costNanoUsd({ model: 'gemini-3.1-pro-preview', createdAt: may, usage: usage(1000, 100) })).toBe(3_200_000);
    expect(book.costNanoUsd({ model: 'gemini-3.1-pro-preview-customtools', createdAt: may, usage: usage(200_001, 100) })).toBe(801_804_000);
    // 1000 × $0.25 + 100 × $1.50 = 400 µUSD
    expect(book.costNanoUsd({ model: 'gemini-3.1-flash-lite-preview', createdAt: may, usage: usage(1000, 100) })).toBe(400_000);
    // The older Gemini 3 Pro preview keeps its own entry.
    expect(book.costNanoUsd({ model: 'gemini-3-pro-preview', createdAt: may, usage: usage(1000, 100) })).toBe(3_200_000);
  });
});
