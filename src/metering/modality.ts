import { isObject, wholeCount } from '../values.js';

/**
 * Token counts split by modality, as extra fields of a Usage. Text is never stored: it is what
 * the total of its part leaves after the other modalities, because Google omits modalities it does
 * not list (an image-output response lists only IMAGE under candidatesTokensDetails, leaving the
 * few text tokens unlisted). Input counts cover the prompt and tool-use prompt lists together.
 */
export interface ModalityCounts {
  inputAudioTokens?: number;
  inputImageTokens?: number;
  inputVideoTokens?: number;
  inputDocumentTokens?: number;
  cachedAudioTokens?: number;
  cachedImageTokens?: number;
  cachedVideoTokens?: number;
  cachedDocumentTokens?: number;
  outputImageTokens?: number;
  outputAudioTokens?: number;
}

export type ModalityField = keyof ModalityCounts;

/** Every modality field, in column order (the usage_events / rollup columns are these in snake_case). */
export const MODALITY_FIELDS = [
  'inputAudioTokens', 'inputImageTokens', 'inputVideoTokens', 'inputDocumentTokens',
  'cachedAudioTokens', 'cachedImageTokens', 'cachedVideoTokens', 'cachedDocumentTokens',
  'outputImageTokens', 'outputAudioTokens',
] as const satisfies readonly ModalityField[];

export const MODALITIES = ['text', 'image', 'audio', 'video', 'document'] as const;
export type Modality = (typeof MODALITIES)[number];

type Part = 'input' | 'cached' | 'output';
const FIELD: Record<Part, Partial<Record<Modality, ModalityField>>> = {
  input: { audio: 'inputAudioTokens', image: 'inputImageTokens', video: 'inputVideoTokens', document: 'inputDocumentTokens' },
  cached: { audio: 'cachedAudioTokens', image: 'cachedImageTokens', video: 'cachedVideoTokens', document: 'cachedDocumentTokens' },
  output: { image: 'outputImageTokens', audio: 'outputAudioTokens' },
};

/** The stored field of a part's modality; null for text (a remainder) and for modalities a part does not split. */
export const fieldOf = (part: Part, m: Modality): ModalityField | null => FIELD[part][m] ?? null;

function add(into: ModalityCounts, part: Part, list: unknown, countKey: 'tokenCount' | 'tokens'): void {
  if (!Array.isArray(list)) return;
  for (const item of list) {
    if (!isObject(item) || typeof item.modality !== 'string') continue;
    const n = wholeCount(item[countKey]);
    if (n === 0) continue;
    // generateContent says "AUDIO", the Interactions API "audio".
    const f = FIELD[part][item.modality.toLowerCase() as Modality];
    if (f) into[f] = (into[f] ?? 0) + n;
  }
}

/** generateContent `usageMetadata`: adds promptTokensDetails + toolUsePromptTokensDetails, cacheTokensDetails, candidatesTokensDetails into `out` (a Usage being built). */
export function addUsageMetadataModalities<T extends ModalityCounts>(out: T, u: Record<string, unknown>): T {
  add(out, 'input', u.promptTokensDetails, 'tokenCount');
  add(out, 'input', u.toolUsePromptTokensDetails, 'tokenCount');
  add(out, 'cached', u.cacheTokensDetails, 'tokenCount');
  add(out, 'output', u.candidatesTokensDetails, 'tokenCount');
  // Live API responses name their output list after responseTokenCount.
  add(out, 'output', u.responseTokensDetails, 'tokenCount');
  return out;
}

/** Interactions `usage`: adds the *_by_modality lists (`{modality, tokens}`) into `out`. */
export function addInteractionModalities<T extends ModalityCounts>(out: T, u: Record<string, unknown>): T {
  add(out, 'input', u.input_tokens_by_modality, 'tokens');
  add(out, 'input', u.tool_use_tokens_by_modality, 'tokens');
  add(out, 'cached', u.cached_tokens_by_modality, 'tokens');
  add(out, 'output', u.output_tokens_by_modality, 'tokens');
  return out;
}

/** Sums another split into `into` (batch results are summed per request). */
export function addModalities(into: ModalityCounts, more: ModalityCounts): void {
  for (const f of MODALITY_FIELDS) if (more[f]) into[f] = (into[f] ?? 0) + more[f]!;
}
