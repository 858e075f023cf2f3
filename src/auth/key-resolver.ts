import type { Clock } from '../clock.js';
import type { Db } from '../db/client.js';
import { hashKey } from './keys.js';
import type { AuthFailure, KeyScopes, Principal, UpstreamKeyState } from '../exchange/principal.js';
import { dataVersionReader } from '../db/data-version.js';
import { query } from '../db/dialect.js';

interface KeyRow {
  key_id: string;
  key_prefix: string;
  project_id: string;
  project_slug: string;
  tenant_id: string;
  tenant_slug: string;
  expires_at: number | null;
  revoked_at: number | null;
  key_off: number | null;
  scopes: string;
  upstream_key_id: string | null;
  upstream_key_state: UpstreamKeyState | null;
  project_off: number | null;
  tenant_off: number | null;
}

interface CacheEntry {
  row: KeyRow | undefined;
  principal: Principal | null;
  loadedAt: number;
  /** The data version it was loaded under: from another version it must be re-read before it is trusted. */
  version: number;
  /** The one query refreshing this entry after its TTL; the stale entry is served meanwhile. */
  refreshing?: boolean;
}

type Resolution = { ok: true; principal: Principal } | { ok: false; reason: AuthFailure };

export interface KeyResolver {
  /** A cached key answers without waiting (a resolved promise); a key not seen yet costs one query. */
  resolve(secret: string | undefined): Resolution | Promise<Resolution>;
  /** The same checks for a key known by id (an ephemeral token acts for the key that created it); uncached. */
  resolveId(keyId: string): Promise<Resolution>;
  /** In-process writes (admin API) call this so their effect is immediate. */
  invalidate(): void;
  /** Keys seen since the last drain, with the time last seen: the ledger carries them in its next batch. */
  drainLastUsed(): Map<string, number>;
}

const LOOKUP_SQL = `
  SELECT k.id AS key_id, k.prefix AS key_prefix, k.expires_at, coalesce(k.revoked_at, k.deleted_at) AS revoked_at,
         k.disabled_at AS key_off, k.scopes,
         p.id AS project_id, p.slug AS project_slug, p.upstream_key_id,
         CASE WHEN p.upstream_key_id IS NULL THEN NULL
              WHEN u.id IS NULL OR u.revoked_at IS NOT NULL OR u.deleted_at IS NOT NULL THEN 'revoked'
              WHEN u.disabled_at IS NOT NULL THEN 'disabled' ELSE 'active' END AS upstream_key_state,
         coalesce(p.disabled_at, p.deleted_at) AS project_off,
         t.id AS tenant_id, t.slug AS tenant_slug, coalesce(t.disabled_at, t.deleted_at) AS tenant_off
  FROM api_keys k JOIN projects p ON p.id = k.project_id JOIN tenants t ON t.id = p.tenant_id
  LEFT JOIN upstream_keys u ON u.id = p.upstream_key_id
  WHERE k.hash = ?`;
const LOOKUP_BY_ID_SQL = LOOKUP_SQL.replace('WHERE k.hash = ?', 'WHERE k.id = ?');

/**
 * Resolves tenant keys with a small cache. A cached entry is trusted only while the data version is
 * unchanged (SQLite's data_version, or the Postgres change feed: it moves when another process, e.g.
 * the CLI or another gateway, commits) and is refreshed after ttlMs, so revocation elsewhere is seen
 * on the next request. Unknown keys are cached too, which keeps invalid-key floods off the database.
 * A hit never waits on the database; an expired entry is served while one query refreshes it.
 */
/** Gateway keys are 47 characters (auth/keys.ts); room to spare for any key-shaped string. */
const MAX_REMEMBERED_KEY_LENGTH = 128;

export function createKeyResolver(db: Db, clock: Clock, ttlMs: number, maxEntries = 10_000): KeyResolver {
  const dataVersion = dataVersionReader(db);
  const cache = new Map<string, CacheEntry>();
  // Presented key → its hash, so a key seen before is not hashed again on every request. It holds
  // only keys clients already presented to this process, bounded like the cache. A revocation needs
  // no eviction here: the hash still names the revoked row, which `check` refuses.
  // Only strings the length of a key are kept: anything a client can put in a header (16 KiB) would
  // otherwise hold up to maxEntries of those, 160 MB.
  const hashes = new Map<string, string>();
  const hashOf = (secret: string): string => {
    let hash = hashes.get(secret);
    if (hash === undefined) {
      hash = hashKey(secret);
      if (secret.length > MAX_REMEMBERED_KEY_LENGTH) return hash;
      if (hashes.size >= maxEntries) hashes.clear();
      hashes.set(secret, hash);
    }
    return hash;
  };
  let seenVersion = dataVersion();
  let lastUsed = new Map<string, number>();
  /** Bumped by invalidate(): a load that started before it must not put its (older) answer in the cache. */
  let generation = 0;
  /** One query per key and generation: concurrent requests for a key being re-read share it (never one started before a change). */
  const inflight = new Map<string, { generation: number; p: Promise<CacheEntry> }>();

  function load(hash: string, now: number): Promise<CacheEntry> {
    const running = inflight.get(hash);
    if (running && running.generation === generation) return running.p;
    const mine = { generation, p: loadOnce(hash, now) };
    const done = () => void (inflight.get(hash) === mine && inflight.delete(hash));
    mine.p.then(done, done);
    inflight.set(hash, mine);
    return mine.p;
  }

  async function loadOnce(hash: string, now: number): Promise<CacheEntry> {
    const started = generation;
    const version = seenVersion;
    const [row] = await query<KeyRow>(db, LOOKUP_SQL, [hash]);
    const entry: CacheEntry = { row, principal: row ? toPrincipal(row) : null, loadedAt: now, version };
    if (started === generation) {
      if (cache.size >= maxEntries) cache.clear();
      cache.set(hash, entry);
    }
    return entry;
  }

  function check(row: KeyRow | undefined, principal: Principal | null, now: number): Resolution {
    if (!row || !principal) return { ok: false, reason: 'unknown' };
    if (row.revoked_at !== null && row.revoked_at <= now) return { ok: false, reason: 'revoked' };
    if (row.expires_at !== null && row.expires_at <= now) return { ok: false, reason: 'expired' };
    if (row.key_off !== null || row.project_off !== null || row.tenant_off !== null) return { ok: false, reason: 'disabled' };
    lastUsed.set(row.key_id, now);
    return { ok: true, principal };
  }

  return {
    resolve(secret) {
      if (!secret) return { ok: false, reason: 'missing' };
      const now = clock.now();
      const version = dataVersion();
      if (version !== seenVersion) {
        seenVersion = version;
        generation++;
      }
      const hash = hashOf(secret);
      const entry = cache.get(hash);
      if (!entry) return load(hash, now).then((e) => check(e.row, e.principal, clock.now()));
      if (entry.version !== version) {
        // Something may have changed: re-read before trusting it. If the database cannot answer (an
        // outage; on Postgres the version keeps moving while the change feed is down), the last answer
        // it gave stands: nothing can be revoked through a database nobody can reach.
        return load(hash, now).then(
          (e) => check(e.row, e.principal, clock.now()),
          () => check(entry.row, entry.principal, clock.now()),
        );
      }
      if (now - entry.loadedAt > ttlMs && !entry.refreshing) {
        // Served stale for the one query's duration: the data version already covers changes we were told about.
        entry.refreshing = true;
        load(hash, now).catch(() => void (entry.refreshing = false));
      }
      return check(entry.row, entry.principal, now);
    },
    async resolveId(keyId) {
      const [row] = await query<KeyRow>(db, LOOKUP_BY_ID_SQL, [keyId]);
      return check(row, row ? toPrincipal(row) : null, clock.now());
    },
    invalidate() {
      generation++;
      // Untrusted, not forgotten: each entry is re-read before its next use, and if the database cannot
      // answer then, its last answer stands, as for a change another process made. Emptying the cache
      // instead left every key without an answer to fall back on through an outage that began after
      // any admin write.
      for (const entry of cache.values()) entry.version = Number.NaN;
    },
    drainLastUsed() {
      const out = lastUsed;
      lastUsed = new Map();
      return out;
    },
  };
}

function toPrincipal(row: KeyRow): Principal {
  let scopes: KeyScopes = {};
  try {
    scopes = JSON.parse(row.scopes) as KeyScopes;
  } catch {
    // A corrupt scopes column must not open the key up: deny everything by scoping to nothing.
    scopes = { models: [], endpoints: [] };
  }
  return {
    keyId: row.key_id,
    keyPrefix: row.key_prefix,
    projectId: row.project_id,
    projectSlug: row.project_slug,
    tenantId: row.tenant_id,
    tenantSlug: row.tenant_slug,
    scopes,
    upstreamKeyId: row.upstream_key_id,
    upstreamKeyState: row.upstream_key_state,
  };
}
