import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { Endpoint } from '../exchange/classify.js';
import type { KeyScopes } from '../exchange/principal.js';

/** The endpoint families a key can be scoped to. */
export const ENDPOINT_FAMILIES = ['generate', 'stream', 'interactions', 'embed', 'count', 'models', 'files', 'caches', 'batches', 'live'] as const;
export type EndpointFamily = (typeof ENDPOINT_FAMILIES)[number];

const FAMILY_OF: Record<Endpoint, EndpointFamily | null> = {
  generateContent: 'generate',
  streamGenerateContent: 'stream',
  'interactions.create': 'interactions',
  'interactions.get': 'interactions',
  'interactions.delete': 'interactions',
  'interactions.cancel': 'interactions',
  embedContent: 'embed',
  batchEmbedContents: 'embed',
  countTokens: 'count',
  models: 'models',
  files: 'files',
  upload: 'files',
  cachedContents: 'caches',
  batches: 'batches',
  live: 'live',
  auth_tokens: 'live',
  // Anything the classifier does not name (predict, tuning…) belongs to no family: a key scoped
  // to families cannot reach it, an unscoped key can.
  other: null,
  predict: null,
  predictLongRunning: null,
  'models.operations': null,
  fileSearchStores: null,
  tunedModels: null,
};

/** Endpoints that always name a model: a model-scoped key may not call them without one. */
const NEEDS_MODEL = new Set<Endpoint>(['generateContent', 'streamGenerateContent', 'embedContent', 'batchEmbedContents', 'countTokens', 'interactions.create']);

export function endpointFamily(endpoint: Endpoint): EndpointFamily | null {
  return FAMILY_OF[endpoint];
}

/** Scopes turned into matchers once per resolved key (the resolver caches principals). */
export interface CompiledScopes {
  models: { patterns: string[]; re: RegExp } | null;
  endpoints: Set<string> | null;
  cidrs: { list: string[]; block: BlockList } | null;
}

/** `gemini-2.5-*` → a regex; `*` is any run of characters, `?` one character, everything else literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

export function compileScopes(s: KeyScopes): CompiledScopes {
  // `models/x` and `x` name the same model; the classifier reports the bare name.
  const globs = s.models?.map((g) => g.replace(/^models\//, ''));
  const models = globs ? { patterns: globs, re: new RegExp(globs.map((g) => `(?:${globToRegExp(g).source})`).join('|') || '(?!)') } : null;
  let cidrs: CompiledScopes['cidrs'] = null;
  if (s.cidrs) {
    const block = new BlockList();
    for (const c of s.cidrs) {
      const [addr = '', bits] = c.split('/');
      const type = isIPv6(addr) ? 'ipv6' : 'ipv4';
      // A malformed entry (the admin API validates, a hand-edited row may not) matches nothing.
      if (isIPv4(addr) || isIPv6(addr)) block.addSubnet(addr, bits === undefined ? (type === 'ipv4' ? 32 : 128) : Number(bits), type);
    }
    cidrs = { list: s.cidrs, block };
  }
  return { models, endpoints: s.endpoints ? new Set(s.endpoints) : null, cidrs };
}

export interface ScopeRequest {
  endpoint: Endpoint;
  model: string | null;
  address: string | undefined;
  /** This request must name a model (besides the endpoints that always do): a cache being created. */
  needsModel?: boolean;
}

/** Null when allowed; otherwise a message naming what is not allowed (shown to the caller). */
export function scopeViolation(c: CompiledScopes, req: ScopeRequest): string | null {
  const network = networkViolation(c, req.address);
  if (network) return network;
  if (c.endpoints) {
    const family = endpointFamily(req.endpoint);
    if (family === null || !c.endpoints.has(family)) {
      const what = family === null ? 'this endpoint' : `the "${family}" endpoint family`;
      return `This API key may not use ${what} (allowed: ${[...c.endpoints].join(', ')}).`;
    }
  }
  if (c.models) {
    if (req.model === null) {
      if (req.needsModel || NEEDS_MODEL.has(req.endpoint)) return `This API key may only call models ${c.models.patterns.join(', ')}; the request names no model.`;
    } else if (!c.models.re.test(req.model)) {
      return `This API key may not call model "${req.model}" (allowed: ${c.models.patterns.join(', ')}).`;
    }
  }
  return null;
}

/**
 * Null when the key may be used from `address`. Source networks bound the key on every surface that
 * takes it (the self-service API too), unlike endpoint families and models, which name data-plane calls.
 */
export function networkViolation(c: Pick<CompiledScopes, 'cidrs'>, address: string | undefined): string | null {
  if (!c.cidrs || addressAllowed(c.cidrs.block, address)) return null;
  return `This API key may not be used from ${address ?? 'an unknown address'} (allowed networks: ${c.cidrs.list.join(', ')}).`;
}

function addressAllowed(block: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  // Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d; match them against IPv4 networks.
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (v4) return block.check(v4, 'ipv4') || block.check(address, 'ipv6');
  return block.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
}
