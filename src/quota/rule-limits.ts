import type { CounterDimension } from './counters.js';
import { LIMIT_NAMES, LIMITS, type LimitName, type LimitRule } from './policy.js';

/**
 * One limit of one rule, with the parts of its RateLimit fields that stay the same from request to
 * request. Built once per loaded policy: quoting every policy id for every limited request was
 * about a third of admission's CPU.
 */
export interface RuleLimit {
  name: LimitName;
  limit: number;
  /** Policy name used in headers and messages: `tpd`, `key/rpm`, `model/gemini-2.5-pro/tpm`. */
  id: string;
  /** `id` as a structured-field string. */
  quoted: string;
  /** Its RateLimit-Policy item without the window (months differ in length): `"tpd";q=100;qu="tokens"`. */
  policyItem: string;
}

/** A rule and where it counts: the slice of the project (dimension and value) and its limits. */
export interface CompiledRule {
  rule: LimitRule;
  dim: CounterDimension;
  value: string;
  limits: readonly RuleLimit[];
}

export function compileRule(rule: LimitRule): CompiledRule {
  const [dim, value]: [CounterDimension, string] = rule.keyId ? ['key', rule.keyId] : rule.model ? ['model', rule.model] : ['project', ''];
  const limits: RuleLimit[] = [];
  for (const name of LIMIT_NAMES) {
    const limit = rule[name];
    if (limit === undefined) continue;
    const id = policyId(dim, value, name);
    const quoted = sfString(id);
    const { unit } = LIMITS[name];
    limits.push({ name, limit, id, quoted, policyItem: `${quoted};q=${limit}${unit === 'requests' ? '' : `;qu="${unit}"`}` });
  }
  return { rule, dim, value, limits };
}

function policyId(dim: CounterDimension, value: string, name: LimitName): string {
  const short = LIMITS[name].short;
  if (dim === 'key') return `key/${short}`;
  if (dim === 'model') return `model/${value}/${short}`;
  return short;
}

/** An RFC 8941 string: printable ASCII only, with quotes and backslashes escaped. */
function sfString(s: string): string {
  return `"${s.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, '\\$&')}"`;
}
