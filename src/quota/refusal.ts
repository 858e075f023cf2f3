import { GatewayError } from '../errors.js';
import { LIMITS } from './policy.js';
import type { Measure, Violation } from './evaluate.js';

/** Who the limits belong to, for messages and QuotaFailure subjects. */
export interface QuotaSubject {
  tenantSlug: string;
  projectSlug: string;
}

/**
 * IETF RateLimit / RateLimit-Policy fields (draft-ietf-httpapi-ratelimit-headers-10): one item per
 * limit that applies to the request. Token limits use the unit "tokens" (not in the draft's registry).
 */
export function rateLimitHeaders(measures: Measure[], now: number): Record<string, string> {
  if (measures.length === 0) return {};
  let policy = '';
  let state = '';
  for (const m of measures) {
    const sep = policy === '' ? '' : ', ';
    policy += sep + (m.windowSeconds === null ? m.policyItem : `${m.policyItem};w=${m.windowSeconds}`);
    state += sep + (m.resetsAt === null ? `${m.quoted};r=${m.remaining}` : `${m.quoted};r=${m.remaining};t=${Math.max(0, Math.ceil((m.resetsAt - now) / 1000))}`);
  }
  return { 'ratelimit-policy': policy, ratelimit: state };
}

/** Human description of one broken limit: names it, its scope, and what is left. */
export function describe(v: Measure, subject: QuotaSubject): string {
  const scope = v.rule.dim === 'project' ? `project ${subject.tenantSlug}/${subject.projectSlug}` : v.rule.dim === 'key' ? `key ${v.rule.value}` : `model ${v.rule.value} in project ${subject.tenantSlug}/${subject.projectSlug}`;
  const { unit, metric } = LIMITS[v.name];
  if (v.name === 'maxConcurrent') return `${metric} limit of ${v.limit} requests in flight reached for ${scope}`;
  const held = v.reserved ? `, ${v.reserved} held by requests in flight` : '';
  return `${metric} limit of ${v.limit} ${unit} reached for ${scope} (used ${v.used}${held})`;
}

/**
 * The 429 for a refused request: the message names the limit that decides the wait, Retry-After says
 * how long that is, and the google audience also gets QuotaFailure + RetryInfo details.
 */
export function quotaRefusal(found: Violation[], subject: QuotaSubject, estimate: number, headers: Record<string, string>): GatewayError {
  const worst = found.reduce((a, b) => (b.retryAfter > a.retryAfter ? b : a));
  const others = found.length > 1 ? ` (${found.length - 1} other limit${found.length > 2 ? 's' : ''} also reached)` : '';
  const need = estimate > 0 && LIMITS[worst.name].unit === 'tokens' ? `; this request needs about ${estimate} tokens` : '';
  const message = `Quota exceeded: ${describe(worst, subject)}${need}${others}. Retry after ${worst.retryAfter}s.`;
  return new GatewayError('resource_exhausted', message, {
    details: [quotaFailure(found, subject), retryInfo(worst.retryAfter)],
    headers: { 'retry-after': String(worst.retryAfter), ...headers },
  });
}

/** The mid-stream error of the hard cap. */
export function hardCapError(v: Measure, subject: QuotaSubject): GatewayError {
  return new GatewayError('resource_exhausted', `Quota exceeded mid-stream (hard cap): ${describe(v, subject)}. The stream was ended early.`, {
    details: [quotaFailure([v], subject)],
  });
}

function quotaFailure(found: Measure[], subject: QuotaSubject) {
  return {
    '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
    violations: found.map((v) => ({
      subject: `project:${subject.tenantSlug}/${subject.projectSlug}`,
      description: describe(v, subject),
      quotaMetric: `gemini-gateway/${LIMITS[v.name].metric}`,
      quotaId: v.id,
      quotaDimensions: v.rule.dim === 'project' ? {} : { [v.rule.dim]: v.rule.value },
      quotaValue: String(v.limit),
    })),
  };
}

function retryInfo(seconds: number) {
  return { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${seconds}s` };
}
