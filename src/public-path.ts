/**
 * A gateway published under a path (PUBLIC_BASE_URL=https://host/gemini) may receive its requests
 * with that path still on (no rewriting proxy in front) or already stripped: both work, and a
 * root-mounted gateway (prefix '') sees every path unchanged.
 */
export function stripPublicPrefix(path: string, prefix: string): string {
  return prefix !== '' && (path === prefix || path.startsWith(`${prefix}/`)) ? path.slice(prefix.length) || '/' : path;
}
