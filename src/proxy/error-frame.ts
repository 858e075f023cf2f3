import { GatewayError, renderError } from '../errors.js';
import type { UsageFamily } from '../metering/usage.js';

/**
 * An error as the stream's own last frame, the way Google reports a failure after a stream started:
 * generateContent `data: {"error":{…"status":…}}`; interactions `event: error` with a string `code`.
 * `afterCR`: the client's last byte was a lone CR, so a LF first completes that line end.
 */
export function errorFrame(family: UsageFamily | null, err: GatewayError, afterCR = false): Buffer {
  const lead = afterCR ? '\n' : '';
  if (family === 'interactions') {
    const body = JSON.parse(renderError(err, 'interactions')) as Record<string, unknown>;
    return Buffer.from(`${lead}event: error\r\ndata: ${JSON.stringify({ ...body, event_type: 'error' })}\r\n\r\n`);
  }
  return Buffer.from(`${lead}data: ${renderError(err, 'google')}\r\n\r\n`);
}

/** The frame for an upstream that failed mid-stream. */
export function upstreamFailureFrame(family: UsageFamily | null, timeout: boolean): Buffer {
  const ge = timeout
    ? new GatewayError('deadline_exceeded', 'Upstream stream stalled.')
    : new GatewayError('unavailable', 'Upstream stream failed.');
  return errorFrame(family, ge);
}
