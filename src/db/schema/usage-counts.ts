import { integer } from 'drizzle-orm/sqlite-core';

/**
 * Counts added for per-modality and media pricing, shared by usage_events (nullable: null when
 * nothing was metered, like the token columns) and the rollups (summed, never null). Text tokens
 * are not stored: they are each part's total minus these. Columns rather than a child table,
 * because every rollup grain sums them with the same upsert as the other counts.
 */
export const USAGE_COUNT_COLUMNS = [
  'input_audio_tokens', 'input_image_tokens', 'input_video_tokens', 'input_document_tokens',
  'cached_audio_tokens', 'cached_image_tokens', 'cached_video_tokens', 'cached_document_tokens',
  'output_image_tokens', 'output_audio_tokens', 'images', 'video_seconds',
] as const;

const camel = (s: string) => s.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

export function usageCountColumns(notNull: boolean) {
  return Object.fromEntries(USAGE_COUNT_COLUMNS.map((c) => [camel(c), notNull ? integer(c).notNull().default(0) : integer(c)])) as Record<
    string,
    ReturnType<typeof integer>
  >;
}
