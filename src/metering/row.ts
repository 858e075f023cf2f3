import type { Usage } from './usage.js';

/**
 * `upstream_timeout`: a configured upstream timeout (connect, headers, idle body) fired; `upstream_aborted`:
 * the connection failed; `quota_cut`: a stream the gateway ended early with an error frame because the
 * project's hard cap was reached; `token_expired`: a Live session the gateway closed at its ephemeral
 * token's expireTime, an end the token's issuer asked for rather than a failure.
 */
export type Outcome = 'ok' | 'upstream_error' | 'client_aborted' | 'upstream_aborted' | 'upstream_timeout' | 'gateway_error' | 'quota_cut' | 'token_expired';

/**
 * The row's status when the client hung up before any response header was sent: nginx's 499
 * ("client closed request"), so the row never claims a status nobody received.
 */
export const CLIENT_CLOSED_REQUEST = 499;

/** One usage_events row, camelCase; the ledger maps it (metering/columns.ts) onto the snake_case columns. */
export interface UsageRow {
  createdAt: number;
  requestId: string;
  tenantId: string;
  projectId: string;
  keyId: string;
  upstreamKeyId: string | null;
  method: string;
  apiVersion: string | null;
  endpoint: string;
  model: string | null;
  stream: 0 | 1;
  /** HTTP status sent to the client (CLIENT_CLOSED_REQUEST when it left first); a Live session's close code. */
  status: number;
  outcome: Outcome;
  usage: Usage | null;
  ttfbMs: number | null;
  latencyMs: number;
  bytesIn: number;
  bytesOut: number;
  /** Estimated nano-USD, filled in by the ledger as the row is batched (null: unpriced model). */
  costNanoUsd?: number | null;
  /** Unique per row, stamped by the ledger when recorded: what makes writing a batch twice harmless. */
  rowKey?: string;
}
