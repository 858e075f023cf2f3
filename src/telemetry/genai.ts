import type { Attributes } from '@opentelemetry/api';
import type { Outcome } from '../metering/row.js';
import type { Usage } from '../metering/usage.js';
import type { Endpoint } from '../exchange/classify.js';
import { isObject } from '../values.js';

/** gen_ai.provider.name for the Gemini Developer API (generativelanguage.googleapis.com). */
export const PROVIDER = 'gcp.gemini';

/**
 * gen_ai.operation.name for the endpoints that run a model; null for the rest (files, caches,
 * batches, model lists…), whose spans carry the gateway's attributes only. An interaction that
 * names an agent instead of a model invokes that agent.
 */
export function operationName(endpoint: Endpoint, body: unknown): string | null {
  switch (endpoint) {
    case 'generateContent':
    case 'streamGenerateContent':
      return 'generate_content';
    case 'embedContent':
    case 'batchEmbedContents':
      return 'embeddings';
    case 'interactions.create':
      return isObject(body) && typeof body.agent === 'string' ? 'invoke_agent' : 'generate_content';
    default:
      return null;
  }
}

/**
 * The conventions count cached tokens inside input and reasoning tokens inside output; Gemini
 * reports thoughts and tool-use prompt tokens beside those totals, so they are added back.
 * `gemini_gateway.usage.total_tokens` is upstream's own total, as in the usage row.
 */
export function usageAttributes(u: Usage): Attributes {
  return {
    'gen_ai.usage.input_tokens': u.promptTokens + u.toolUsePromptTokens,
    'gen_ai.usage.output_tokens': u.outputTokens + u.thoughtsTokens,
    'gen_ai.usage.cache_read.input_tokens': u.cachedTokens,
    'gen_ai.usage.reasoning.output_tokens': u.thoughtsTokens,
    'gemini_gateway.usage.total_tokens': u.totalTokens,
  };
}

/**
 * Finish reasons from the object the meter already parsed for usage (the response, or a stream's
 * last usage frame, which is the one carrying finishReason): one per candidate, or an interaction's status.
 */
export function finishReasons(source: unknown): string[] | null {
  if (!isObject(source)) return null;
  if (Array.isArray(source.candidates)) {
    const out: string[] = [];
    for (const c of source.candidates) if (isObject(c) && typeof c.finishReason === 'string') out.push(c.finishReason);
    return out.length ? out : null;
  }
  return typeof source.status === 'string' ? [source.status] : null;
}

/** error.type: absent on success and on a Live token's planned end, upstream's status for its own errors, the outcome otherwise. */
export function errorType(outcome: Outcome, status: number): string | null {
  if (outcome === 'ok' || outcome === 'token_expired') return null;
  return outcome === 'upstream_error' ? String(status) : outcome;
}
