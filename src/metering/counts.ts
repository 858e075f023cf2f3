import { MODALITY_FIELDS } from './modality.js';
import type { Usage } from './usage.js';

/** The Usage fields stored in db/schema/usage-counts.ts's USAGE_COUNT_COLUMNS, index for index (metering/columns.ts maps them). */
export const COUNT_FIELDS = [...MODALITY_FIELDS, 'images', 'videoSeconds'] as const satisfies readonly (keyof Usage)[];
