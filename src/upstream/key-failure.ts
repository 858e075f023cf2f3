import type { IncomingHttpHeaders } from 'node:http';
import type { KeyFailure } from './key-pool.js';

/** Statuses whose answer may be about the key rather than the request; their small bodies are held back and read. */
export const KEY_FAILURE_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 429]);

/** ErrorInfo reasons that mean the key itself is unusable, not rate-limited. */
const INVALID_REASONS = new Set(['API_KEY_INVALID', 'API_KEY_EXPIRED', 'CONSUMER_SUSPENDED', 'API_KEY_SERVICE_BLOCKED']);

interface Detail {
  '@type'?: string;
  reason?: string;
  retryDelay?: string;
}

/**
 * Pure: whether an upstream error answer is the key's fault. 429 (and a 403 that is about quota)
 * cools the key down for RetryInfo's delay (or Retry-After); an ErrorInfo reason like API_KEY_INVALID
 * disables it. Anything else (bad request, a file owned by another Google project) is the request's
 * problem and null.
 */
export function keyFailure(status: number, headers: IncomingHttpHeaders, body: Buffer): KeyFailure | null {
  if (!KEY_FAILURE_STATUSES.has(status)) return null;
  const error = parseError(body);
  const details: Detail[] = Array.isArray(error?.details) ? (error.details as Detail[]) : [];
  const reason = details.find((d) => typeof d.reason === 'string' && INVALID_REASONS.has(d.reason))?.reason;
  if (reason) return { kind: 'invalid', reason };
  const quota = status === 429 || error?.status === 'RESOURCE_EXHAUSTED' || error?.code === 'resource_exhausted' ||
    details.some((d) => d['@type']?.endsWith('google.rpc.QuotaFailure'));
  if (!quota) return null;
  const retry = details.find((d) => typeof d.retryDelay === 'string')?.retryDelay;
  return { kind: 'cooldown', delayMs: retry !== undefined ? durationMs(retry) : retryAfterMs(headers['retry-after']) };
}

function parseError(body: Buffer): Record<string, unknown> | null {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: unknown };
    return typeof parsed.error === 'object' && parsed.error !== null ? (parsed.error as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** google.protobuf.Duration in JSON: "34s", "1.5s". */
export function durationMs(d: string): number | null {
  const m = /^(\d+(?:\.\d+)?)s$/.exec(d.trim());
  return m ? Math.ceil(Number(m[1]) * 1000) : null;
}

function retryAfterMs(v: string | string[] | undefined): number | null {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || !/^\d+$/.test(s.trim())) return null;
  return Number(s) * 1000;
}
