import { USAGE_COUNT_COLUMNS } from '../db/schema/usage-counts.js';
import { MODALITY_FIELDS } from './modality.js';
import type { Usage } from './usage.js';

/** The Usage fields stored in USAGE_COUNT_COLUMNS, index for index. */
export const COUNT_FIELDS = [...MODALITY_FIELDS, 'images', 'videoSeconds'] as const satisfies readonly (keyof Usage)[];
export { USAGE_COUNT_COLUMNS };

/** The extra counts of a usage as column values: null without usage, 0 where a present usage says nothing. */
export function countValues(u: Usage | null): (number | null)[] {
  return COUNT_FIELDS.map((f) => (u ? (u[f] ?? 0) : null));
}

/** The extra counts read back from a usage_events row (snake_case columns). */
export function countsFromRow(r: Record<string, unknown>): Partial<Usage> {
  const out: Partial<Usage> = {};
  COUNT_FIELDS.forEach((f, i) => {
    const v = r[USAGE_COUNT_COLUMNS[i]!];
    if (typeof v === 'number' && v !== 0) out[f] = v;
  });
  return out;
}
