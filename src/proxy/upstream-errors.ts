import { GatewayError, renderError } from '../errors.js';
import type { UsageFamily } from '../metering/usage.js';

/** undici's own timeout errors (connect incl. TLS handshake, response headers, idle body) and the OS's. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Whether an upstream failure is one of the configured timeouts (504 / `upstream_timeout`) rather than a broken connection. */
export function isTimeout(err: Error): boolean {
  return TIMEOUT_CODES.has((err as { code?: string }).code ?? '');
}

/** The stream's own error format, as Google emits it when a stream fails after it started. */
export function errorFrame(family: UsageFamily | null, timeout: boolean): Buffer {
  const message = timeout ? 'Upstream stream stalled.' : 'Upstream stream failed.';
  if (family === 'interactions') {
    const code = timeout ? 'gateway_timeout' : 'service_unavailable';
    return Buffer.from(`event: error\r\ndata: ${JSON.stringify({ error: { code, message }, event_type: 'error' })}\r\n\r\n`);
  }
  const ge = new GatewayError(timeout ? 'deadline_exceeded' : 'unavailable', message);
  return Buffer.from(`data: ${renderError(ge, 'google')}\r\n\r\n`);
}
