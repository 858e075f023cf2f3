import { fieldOf, MODALITIES, type Modality } from '../metering/modality.js';
import type { AggregateResult, UsageGroup } from './aggregate.js';

export const MODALITY_METRICS = ['inputTokens', 'cachedTokens', 'outputTokens'] as const;

const num = (g: UsageGroup, k: string): number => (typeof g[k] === 'number' ? (g[k] as number) : 0);
const sumOther = (g: UsageGroup, part: 'input' | 'cached' | 'output'): number =>
  MODALITIES.reduce((s, m) => {
    const f = fieldOf(part, m);
    return f ? s + num(g, f) : s;
  }, 0);

/** One modality's input (cached included), cached and output tokens within an aggregated group. */
export function modalityTokens(g: UsageGroup, m: Modality): { inputTokens: number; cachedTokens: number; outputTokens: number } {
  if (m === 'text') {
    // Text is what the stored modalities leave of each part (Google omits unlisted modalities).
    return {
      inputTokens: Math.max(0, num(g, 'promptTokens') + num(g, 'toolUsePromptTokens') - sumOther(g, 'input')),
      cachedTokens: Math.max(0, num(g, 'cachedTokens') - sumOther(g, 'cached')),
      outputTokens: Math.max(0, num(g, 'outputTokens') - sumOther(g, 'output')),
    };
  }
  const read = (part: 'input' | 'cached' | 'output') => {
    const f = fieldOf(part, m);
    return f ? num(g, f) : 0;
  };
  return { inputTokens: read('input'), cachedTokens: read('cached'), outputTokens: read('output') };
}

/**
 * `groupBy=modality` (and `modality=`): each group becomes one row per modality that has tokens,
 * carrying the group's keys, `modality` and that modality's token counts. Requests, cost and
 * latency belong to requests, not to a modality, so modality rows leave them out; the totals row
 * keeps them. Thinking tokens have no modality and are not split.
 */
export function splitByModality(result: AggregateResult, only?: Modality): AggregateResult {
  // Metric columns are the ones the totals row has; the rest are group keys.
  const keyColumns = result.columns.filter((c) => !(c in result.totals));
  const wanted = only ? [only] : MODALITIES;
  const groups: UsageGroup[] = [];
  for (const g of result.groups) {
    const keys = Object.fromEntries(keyColumns.map((k) => [k, g[k] ?? null]));
    for (const m of wanted) {
      const t = modalityTokens(g, m);
      if (t.inputTokens + t.cachedTokens + t.outputTokens === 0) continue;
      groups.push({ ...keys, modality: m, ...t });
    }
  }
  const totals: UsageGroup = { ...result.totals };
  for (const m of wanted) {
    const t = modalityTokens(result.totals, m);
    totals[`${m}InputTokens`] = t.inputTokens;
    totals[`${m}CachedTokens`] = t.cachedTokens;
    totals[`${m}OutputTokens`] = t.outputTokens;
  }
  return { ...result, groupBy: [...result.groupBy, 'modality' as never], columns: [...keyColumns, 'modality', ...MODALITY_METRICS], groups, totals };
}
