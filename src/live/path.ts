import { stripPublicPrefix } from '../public-path.js';

/** A Live API upgrade target, as Google serves it. */
export interface LiveTarget {
  apiVersion: string;
  /** `BidiGenerateContentConstrained`: the caller holds an ephemeral token, not a key. */
  constrained: boolean;
  /** The path to open upstream (leading slashes collapsed to one). */
  path: string;
  /** The query string as sent ('' or '?…'); credentials are removed later. */
  search: string;
}

const LIVE_PATH = /^\/ws\/google\.ai\.generativelanguage\.(v\d+[a-z0-9]*)\.GenerativeService\.(BidiGenerateContent|BidiGenerateContentConstrained)$/;

/**
 * Recognises `/ws/google.ai.generativelanguage.{v}.GenerativeService.BidiGenerateContent[Constrained]`.
 * The SDK builds the URL from a baseUrl that keeps its trailing slash, so `//ws/…` arrives too (Google
 * accepts it); with PUBLIC_BASE_URL on a path, the prefix may or may not still be there.
 */
export function parseLiveTarget(rawUrl: string, publicPrefix: string): LiveTarget | null {
  const q = rawUrl.indexOf('?');
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  // Read as a path, never as a URL: new URL('//ws/…') would take `ws` for a host.
  const path = stripPublicPrefix(rawPath.replace(/^\/{2,}/, '/'), publicPrefix).replace(/^\/{2,}/, '/');
  const m = LIVE_PATH.exec(path);
  if (!m) return null;
  return { apiVersion: m[1]!, constrained: m[2] === 'BidiGenerateContentConstrained', path, search: q === -1 ? '' : rawUrl.slice(q) };
}
