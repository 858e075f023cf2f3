import type { IncomingMessage } from 'node:http';
import type { Principal } from '../../exchange/principal.js';
import { compileScopes, scopeViolation } from '../../scopes/scopes.js';
import type { TenantAuthenticate } from '../../auth/tenant-auth.js';
import { safeDecode } from '../../values.js';
import type { LiveTarget } from '../../live/path.js';
import type { LiveTokens, TokenGrant } from '../../live/tokens.js';

export interface Caller {
  principal: Principal;
  /** Set when the session was opened with a gateway ephemeral token. */
  grant: TokenGrant | null;
  /** The query string for upstream: every credential parameter removed. */
  search: string;
}

/**
 * Who opens a Live session. `BidiGenerateContent` takes a tenant key (`?key=`, `x-goog-api-key` or
 * Bearer), exactly as the REST paths do. `BidiGenerateContentConstrained` takes a gateway ephemeral
 * token: `?access_token=auth_tokens/…`, `Authorization: Token auth_tokens/…` (newer SDKs), Bearer or
 * `x-goog-api-key` (verified here, spent only once the session is admitted). Throws GatewayError
 * (401 / 429 / 400) before anything is upgraded.
 */
export async function authenticateLive(req: IncomingMessage, target: LiveTarget, deps: { tenantAuth: TenantAuthenticate; tokens: LiveTokens }): Promise<Caller> {
  const { token, rest } = takeParam(target.search, 'access_token');
  if (!target.constrained) {
    const { principal, search } = await deps.tenantAuth(req, rest);
    return { principal, grant: null, search };
  }
  const grant = await deps.tokens.verify(token ?? tokenFromHeaders(req.rawHeaders));
  return { principal: grant.principal, grant, search: takeParam(rest, 'key').rest };
}

function tokenFromHeaders(raw: string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'authorization') {
      const m = /^(?:Token|Bearer)\s+(\S+)\s*$/i.exec(raw[i + 1]!);
      if (m) return m[1];
    } else if (name === 'x-goog-api-key') return raw[i + 1]!.trim();
  }
  return undefined;
}

/** Removes every `name` parameter without re-encoding the others. */
function takeParam(search: string, name: string): { token: string | undefined; rest: string } {
  if (search.length <= 1) return { token: undefined, rest: '' };
  let token: string | undefined;
  const keep: string[] = [];
  for (const part of search.slice(1).split('&')) {
    const eq = part.indexOf('=');
    if (safeDecode(eq === -1 ? part : part.slice(0, eq)) === name) token ??= safeDecode(eq === -1 ? '' : part.slice(eq + 1));
    else keep.push(part);
  }
  return { token, rest: keep.length ? `?${keep.join('&')}` : '' };
}

/** The key's scopes against a setup's model (and the source address); null when allowed. */
export function setupScopeViolation(p: Principal, model: string | null, address: string | undefined): string | null {
  const s = p.scopes;
  if (!s.models && !s.endpoints && !s.cidrs) return null;
  if (s.models && model === null) return `This API key may only call models ${s.models.join(', ')}; the setup names no model.`;
  return scopeViolation(compileScopes(s), { endpoint: 'live', model, address });
}
