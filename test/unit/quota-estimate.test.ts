import { describe, expect, it } from 'vitest';
import { estimateTokens } from '../../src/quota/estimate.js';

describe('admission estimate', () => {
  const text = 'x'.repeat(400); // 100 tokens at 4 bytes each

  it('adds the prompt text, maxOutputTokens (either spelling) and the thinking budget', () => {
    const camel = { contents: [{ role: 'user', parts: [{ text }] }], generationConfig: { maxOutputTokens: 50, thinkingConfig: { thinkingBudget: 20 } } };
    const snake = { contents: [{ role: 'user', parts: [{ text }] }], generation_config: { max_output_tokens: 50, thinking_config: { thinking_budget: 20 } } };
    expect(estimateTokens('generateContent', camel, 0, 4096)).toBe(1 + 100 + 50 + 20);
    expect(estimateTokens('streamGenerateContent', snake, 0, 4096)).toBe(1 + 100 + 50 + 20);
  });

  it('uses the configured default when no maximum output is requested; dynamic thinking (-1) adds nothing', () => {
    const body = { contents: [{ parts: [{ text }] }], generationConfig: { thinkingConfig: { thinkingBudget: -1 } } };
    expect(estimateTokens('generateContent', body, 0, 4096)).toBe(100 + 4096);
  });

  it('counts inline media as a flat allowance instead of its base64 bytes', () => {
    const image = { contents: [{ parts: [{ inlineData: { mimeType: 'image/png', data: 'A'.repeat(1_000_000) } }] }], generationConfig: { maxOutputTokens: 10 } };
    expect(estimateTokens('generateContent', image, 1_000_100, 4096)).toBeLessThan(300);
  });

  it('reads interactions bodies, falls back to body size ÷ 4 for unparsed bodies, and charges 0 where no usage is reported', () => {
    expect(estimateTokens('interactions.create', { model: 'gemini-2.5-flash', input: text, generation_config: { max_output_tokens: 7 } }, 0, 4096)).toBe(Math.ceil((16 + 400) / 4) + 7);
    expect(estimateTokens('generateContent', null, 4000, 10)).toBe(1000 + 10);
    expect(estimateTokens('batchEmbedContents', { requests: [{ content: { parts: [{ text }] } }] }, 0, 4096)).toBe(100);
    expect(estimateTokens('countTokens', { contents: [{ parts: [{ text }] }] }, 0, 4096)).toBe(0);
    expect(estimateTokens('models', null, 0, 4096)).toBe(0);
  });
});
