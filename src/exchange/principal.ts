/** Who is calling, resolved from a tenant key; everything the data plane needs without another lookup. */
export interface KeyScopes {
  models?: string[];
  endpoints?: string[];
  cidrs?: string[];
}

export interface Principal {
  keyId: string;
  keyPrefix: string;
  projectId: string;
  projectSlug: string;
  tenantId: string;
  tenantSlug: string;
  scopes: KeyScopes;
  upstreamKeyId: string | null;
  /** Whether the project's own upstream key may be used; null/undefined when it has none. */
  upstreamKeyState?: UpstreamKeyState | null;
}

export type UpstreamKeyState = 'active' | 'disabled' | 'revoked';

export type AuthFailure = 'missing' | 'unknown' | 'revoked' | 'expired' | 'disabled';
