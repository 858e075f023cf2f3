import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { GatewayError, renderError, toGatewayError } from './errors.js';
import type { Logger } from './logger.js';

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
 * as an opaque 500: no message, no stack.
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

/** zod validation failures become one 400 listing every problem (admin and self-service alike). */
export function validationHook(result: { success: true } | { success: false; error: { issues: readonly { path: PropertyKey[]; message: string }[] } }): void {
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`);
    throw new GatewayError('invalid_argument', `Invalid request: ${problems.join('; ')}`);
  }
}
