/** undici's own timeout errors (connect incl. TLS handshake, response headers, idle body) and the OS's. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Whether an upstream failure is one of the configured timeouts (504 / `upstream_timeout`) rather than a broken connection. */
export function isTimeout(err: Error): boolean {
  return TIMEOUT_CODES.has((err as { code?: string }).code ?? '');
}
