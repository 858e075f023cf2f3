import type { Ledger } from '../ledger/ledger.js';
import type { Usage } from '../metering/usage.js';
import type { UsageRow } from '../metering/row.js';
import type { ResourceOwner, ResourceStore } from './resource-store.js';

/** What a finished long-running resource bills: the usage row's endpoint, model, outcome and usage. */
export interface Completion {
  endpoint: string;
  model: string | null;
  ok: boolean;
  usage: Usage | null;
}

/** Who noticed the resource finished: a client's GET (its request) or the background batch poller. */
export interface CompletionWitness {
  now: number;
  requestId: string;
  /** The reading client's key; the creating key (kept on the resource) wins when known. */
  keyId: string | null;
  method: string;
  apiVersion: string | null;
}

/** What recording a completion writes to: the resource, the ledger and the in-memory quota counters. */
export interface CompletionDeps {
  store: ResourceStore;
  recorder: Ledger;
  quotas: { count(row: UsageRow, now: number): void };
}

/** Billed to no gateway key: an admin-assigned resource finished by the poller. */
export const UNATTRIBUTED_KEY_ID = 'unattributed';

/**
 * The row key of a resource's completion row. Deterministic, so whichever reader notices first (a
 * client's GET, this gateway's poller, another replica's) writes the one row the ledger's
 * `ON CONFLICT (row_key) DO NOTHING` keeps; the others add nothing, rollups included.
 */
export const completionRowKey = (name: string): string => `completed:${name}`;

/**
 * A long-running resource (a batch, a Veo operation) seen finished gets one extra usage row
 * against the project that owns it and the upstream key that ran it. The resource remembers it was
 * metered, so later reads add nothing; across processes the row key keeps it to one row.
 */
export function recordCompletion(
  deps: CompletionDeps,
  seen: CompletionWitness,
  name: string,
  finished: (owner: ResourceOwner) => Completion | null,
): boolean {
  const owner = deps.store.owner(name);
  if (!owner || owner.usageRecordedAt !== null) return false;
  const done = finished(owner);
  if (!done) return false;
  deps.store.markUsageRecorded(name);
  const row: UsageRow = {
    createdAt: seen.now,
    requestId: seen.requestId,
    tenantId: owner.tenantId,
    projectId: owner.projectId,
    keyId: owner.keyId ?? seen.keyId ?? UNATTRIBUTED_KEY_ID,
    upstreamKeyId: owner.upstreamKeyId,
    method: seen.method,
    apiVersion: seen.apiVersion,
    endpoint: done.endpoint,
    model: done.model,
    stream: 0,
    status: 200,
    outcome: done.ok ? 'ok' : 'upstream_error',
    usage: done.usage,
    ttfbMs: null,
    latencyMs: 0,
    bytesIn: 0,
    bytesOut: 0,
    rowKey: completionRowKey(name),
  };
  deps.recorder.record(row);
  // No lease held these tokens: without this they would reach the budgets only at the next restart (quota_counters).
  deps.quotas.count(row, seen.now);
  return true;
}

/** A client's request as the witness of a completion. */
export function requestWitness(ctx: { now: number; requestId: string; method: string; principal: { keyId: string }; what: { apiVersion: string | null } }): CompletionWitness {
  return { now: ctx.now, requestId: ctx.requestId, keyId: ctx.principal.keyId, method: ctx.method, apiVersion: ctx.what.apiVersion };
}
