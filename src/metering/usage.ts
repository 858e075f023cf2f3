import { isObject, wholeCount as count } from '../values.js';
import { addInteractionModalities, addUsageMetadataModalities, type ModalityCounts } from './modality.js';
/**
 * One usage shape for both Gemini families. Counts are what upstream reported; a count missing
 * from a present usage object is 0 because proto3 JSON omits zero fields (Google leaves out
 * cachedContentTokenCount when nothing was cached). No usage object at all → null, never zeros.
 */
export interface Usage extends ModalityCounts {
  promptTokens: number;
  cachedTokens: number;
  outputTokens: number;
  thoughtsTokens: number;
  toolUsePromptTokens: number;
  totalTokens: number;
  /** cachedContents creation: tokens now held in cache storage (billed per hour, not as input). */
  cacheStorageTokens?: number;
  /** Imagen `:predict`: images generated (one prediction each). */
  images?: number;
  /** Veo: seconds of video generated. */
  videoSeconds?: number;
  /**
   * A batch's per-request usages, summed in the counts above. Priced one by one: Gemini picks the
   * long-context tier per request, so a batch of short prompts must not be priced as one long one.
   * Not stored; a row read back from the database has only the sum.
   */
  parts?: readonly Usage[];
  /** The usage object as upstream sent it (key order and values preserved). */
  json: string;
}

/** generateContent family: `usageMetadata`. */
export function fromUsageMetadata(u: unknown): Usage | null {
  if (!isObject(u)) return null;
  return addUsageMetadataModalities(
    usage(count(u.promptTokenCount), count(u.cachedContentTokenCount), count(u.candidatesTokenCount), count(u.thoughtsTokenCount), count(u.toolUsePromptTokenCount), count(u.totalTokenCount), u),
    u,
  );
}

/** Interactions API: snake_case `usage` (same fields in the legacy and the steps schema). */
export function fromInteractionUsage(u: unknown): Usage | null {
  if (!isObject(u)) return null;
  return addInteractionModalities(
    usage(count(u.total_input_tokens), count(u.total_cached_tokens), count(u.total_output_tokens), count(u.total_thought_tokens), count(u.total_tool_use_tokens), count(u.total_tokens), u),
    u,
  );
}

/**
 * One literal with every field, every modality count at 0 (a present usage object is complete) for
 * the caller to add to: a spread of a separate split object costs a copy and leaves V8 a slower
 * object, once per metered response. The type makes a new modality field a compile error here.
 */
function usage(promptTokens: number, cachedTokens: number, outputTokens: number, thoughtsTokens: number, toolUsePromptTokens: number, totalTokens: number, source: object): Usage & Required<ModalityCounts> {
  return {
    promptTokens, cachedTokens, outputTokens, thoughtsTokens, toolUsePromptTokens, totalTokens,
    inputAudioTokens: 0, inputImageTokens: 0, inputVideoTokens: 0, inputDocumentTokens: 0,
    cachedAudioTokens: 0, cachedImageTokens: 0, cachedVideoTokens: 0, cachedDocumentTokens: 0,
    outputImageTokens: 0, outputAudioTokens: 0,
    json: JSON.stringify(source),
  };
}

/** Imagen `:predict`: one prediction per image, no token usage; a body without predictions is no usage. */
export function fromPredictions(body: Record<string, unknown>): Usage | null {
  if (!Array.isArray(body.predictions)) return null;
  return imageUsage(body.predictions.filter((p) => isObject(p) && (typeof p.bytesBase64Encoded === 'string' || typeof p.gcsUri === 'string')).length);
}

/** An Imagen answer's usage: its image count, no tokens. */
export function imageUsage(images: number): Usage {
  return { promptTokens: 0, cachedTokens: 0, outputTokens: 0, thoughtsTokens: 0, toolUsePromptTokens: 0, totalTokens: 0, images, json: JSON.stringify({ images }) };
}

/** generate: usageMetadata; interactions: snake_case usage; cache: a cachedContents creation's usageMetadata. */
export type UsageFamily = 'generate' | 'interactions' | 'cache' | 'predict';

interface Extracted {
  usage: Usage | null;
  model: string | null;
  /** The parsed object the usage was read from (a response, the last usage frame, an Interaction); a reference, no copy. */
  source?: unknown;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * Usage from one parsed response object: a GenerateContentResponse (or an array of them, the
 * non-SSE streamGenerateContent body: usage is cumulative, so the last one wins), an Interaction,
 * or an interactions stream event (`interaction.completed` carries `interaction`, fallbacks carry `usage`
 * or `metadata.total_usage`).
 */
export function extractUsage(family: UsageFamily, body: unknown): Extracted {
  if (Array.isArray(body)) {
    for (let i = body.length - 1; i >= 0; i--) {
      const got = extractUsage(family, body[i]);
      if (got.usage) return got;
    }
    return { usage: null, model: null };
  }
  if (!isObject(body)) return { usage: null, model: null };
  if (family === 'generate') return { usage: fromUsageMetadata(body.usageMetadata), model: str(body.modelVersion), source: body };
  if (family === 'predict') return { usage: fromPredictions(body), model: null };
  if (family === 'cache') {
    const usage = fromUsageMetadata(body.usageMetadata);
    if (usage) usage.cacheStorageTokens = usage.totalTokens;
    return { usage, model: str(body.model)?.replace(/^models\//, '') ?? null };
  }
  const interaction = isObject(body.interaction) ? body.interaction : body;
  const meta = isObject(body.metadata) ? body.metadata.total_usage : undefined;
  return {
    usage: fromInteractionUsage(interaction.usage ?? meta),
    model: str(interaction.model),
    source: interaction,
  };
}
