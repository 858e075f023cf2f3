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
  expiresAt: number | null;
  scopes: KeyScopes;
  upstreamKeyId: string | null;
}

export type AuthFailure = 'missing' | 'unknown' | 'revoked' | 'expired' | 'disabled';
