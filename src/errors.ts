import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from './logger.js';

/**
 * The one error type. Services throw it; each surface renders it for its audience:
 * Google's rpc.Status for API callers (SDKs parse it), a flat JSON for admin callers.
 */
export type ErrorCode =
  | 'invalid_argument'
  | 'unauthenticated'
  | 'permission_denied'
  | 'not_found'
  | 'conflict'
  | 'unprocessable'
  | 'payload_too_large'
  | 'resource_exhausted'
  | 'internal'
  | 'bad_gateway'
  | 'unavailable'
  | 'deadline_exceeded';

const TABLE: Record<ErrorCode, { http: number; google: string; interactions: string }> = {
  invalid_argument: { http: 400, google: 'INVALID_ARGUMENT', interactions: 'invalid_request' },
  unauthenticated: { http: 401, google: 'UNAUTHENTICATED', interactions: 'unauthenticated' },
  permission_denied: { http: 403, google: 'PERMISSION_DENIED', interactions: 'permission_denied' },
  not_found: { http: 404, google: 'NOT_FOUND', interactions: 'not_found' },
  conflict: { http: 409, google: 'ALREADY_EXISTS', interactions: 'conflict' },
  unprocessable: { http: 422, google: 'FAILED_PRECONDITION', interactions: 'invalid_request' },
  payload_too_large: { http: 413, google: 'INVALID_ARGUMENT', interactions: 'invalid_request' },
  resource_exhausted: { http: 429, google: 'RESOURCE_EXHAUSTED', interactions: 'resource_exhausted' },
  internal: { http: 500, google: 'INTERNAL', interactions: 'internal_error' },
  bad_gateway: { http: 502, google: 'UNAVAILABLE', interactions: 'service_unavailable' },
  unavailable: { http: 503, google: 'UNAVAILABLE', interactions: 'service_unavailable' },
  deadline_exceeded: { http: 504, google: 'DEADLINE_EXCEEDED', interactions: 'gateway_timeout' },
};

export interface GatewayErrorOptions {
  /** google.rpc detail objects (QuotaFailure, RetryInfo, …), rendered only for API callers. */
  details?: unknown[];
  headers?: Record<string, string>;
}

export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: GatewayErrorOptions = {},
  ) {
    super(message);
    this.name = 'GatewayError';
    this.status = TABLE[code].http;
  }
}

export type Audience = 'google' | 'interactions' | 'admin';

/** The JSON body for one audience. Never includes a stack or the cause's message. */
export function renderError(err: GatewayError, audience: Audience, requestId?: string): string {
  const row = TABLE[err.code];
  if (audience === 'admin') {
    return JSON.stringify({ error: { code: err.code, message: err.message, requestId } });
  }
  if (audience === 'interactions') {
    return JSON.stringify({ error: { code: row.interactions, message: err.message } });
  }
  const body: Record<string, unknown> = { code: row.http, message: err.message, status: row.google };
  if (err.options.details?.length) body.details = err.options.details;
  return JSON.stringify({ error: body });
}

/** Anything thrown that is not ours becomes an opaque internal error: no message, no stack leaks. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (isNulInText(err)) return new GatewayError('invalid_argument', 'Text must not contain a NUL character (\\u0000).');
  if (isDatabaseAway(err)) return new GatewayError('unavailable', 'The gateway cannot reach its database right now; retry shortly.', { headers: { 'retry-after': '1' } });
  return new GatewayError('internal', 'Internal gateway error.');
}

/** Node socket errors a database connection fails with while the server is unreachable. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** node-postgres's own words for a connection that failed, ended or went silent (they carry no code). */
const PG_CONNECTION_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed)/;

/**
 * The database is away (refused, reset, terminated by an administrator, shutting down, too many
 * connections, a statement timed out) or a SQLite lock outlasted its wait: the caller should retry,
 * as for a key that cannot be checked, rather than read it as a bug in the gateway. Postgres
 * SQLSTATE class 08 is connection exceptions, 57P01-57P03 shutdown, 53300 too many connections,
 * 57014 a cancelled (timed-out) statement.
 */
function isDatabaseAway(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown } | undefined, i = 0; e && i < 3; e = e.cause as typeof e, i++) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300' || code === '57014') return true;
    if (SOCKET_CODES.has(code) || code === 'SQLITE_BUSY') return true;
    if (typeof e.message === 'string' && PG_CONNECTION_MESSAGES.test(e.message)) return true;
    // Both address families refused: an AggregateError of socket errors.
    if (Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every((x) => SOCKET_CODES.has((x as { code?: string }).code ?? ''))) return true;
  }
  return false;
}

/**
 * Postgres text cannot hold U+0000 and refuses the query (SQLSTATE 22021): that is the caller's
 * input, not our failure, wherever the text came from (a filter, a name, a label).
 * Drizzle may wrap the driver error as `cause`.
 */
function isNulInText(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, i = 0; e && i < 3; e = e.cause as typeof e, i++) {
    if (e.code === '22021' && typeof e.message === 'string' && e.message.includes('0x00')) return true;
  }
  return false;
}

/** zod validation failures become one 400 listing every problem (admin and self-service alike). */
export function validationHook(result: { success: true } | { success: false; error: { issues: readonly { path: PropertyKey[]; message: string }[] } }): void {
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`);
    throw new GatewayError('invalid_argument', `Invalid request: ${problems.join('; ')}`);
  }
}

/** Hono's own request errors (malformed JSON, wrong content-type) as ours, with a message that says what to send. */
function fromHttpException(err: HTTPException): GatewayError {
  if (err.status === 415) return new GatewayError('invalid_argument', 'Send the request body as JSON with content-type: application/json.');
  if (err.status === 404) return new GatewayError('not_found', err.message || 'Not found.');
  return new GatewayError('invalid_argument', err.message || 'Bad request.');
}

const CONTENT_TYPE = { admin: 'application/json', google: 'application/json; charset=UTF-8' } as const;

/**
 * The one `onError` of each audience outside the data plane: `admin` (the admin API and /metrics:
 * `{"error":{code,message,requestId}}`) and `google` (the tenant-key self-service API: Google's
 * rpc.Status, which tenant clients already parse). Anything not ours is logged once and answered
 * as an opaque 500 (503 when the database is away): no message, no stack.
 */
export function onErrorFor<E extends { Variables: { requestId: string } }>(audience: keyof typeof CONTENT_TYPE, log: Logger, surface: string) {
  return function onError(err: Error, c: Context<E>) {
    const ge = err instanceof HTTPException && err.status < 500 ? fromHttpException(err) : toGatewayError(err);
    if (!(err instanceof GatewayError) && !(err instanceof HTTPException && err.status < 500)) {
      log.error({ requestId: c.get('requestId' as never) as string, err: err.message }, `${surface} failure`);
    }
    const body = renderError(ge, audience, audience === 'admin' ? c.get('requestId' as never) as string : undefined);
    return c.body(body, ge.status as 500, { 'content-type': CONTENT_TYPE[audience], ...ge.options.headers });
  };
}
