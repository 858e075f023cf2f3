import { performance } from 'node:perf_hooks';
import type { AppDeps } from '../deps.js';
import type { ExchangeResult, ProxyContext } from '../exchange/stage.js';

/** Queues the usage row and writes the one log line for every authenticated request, refused ones included. */
export function recordExchange({ recorder, log }: Pick<AppDeps, 'recorder' | 'log'>, ctx: ProxyContext, result: ExchangeResult, now: number): void {
  const { principal, what } = ctx;
  const latencyMs = Math.round(performance.now() - ctx.startedAt);
  const usage = result.meter.usage;
  const model = ctx.model ?? result.meter.model;
  recorder.record({
    createdAt: now,
    requestId: ctx.requestId,
    tenantId: principal.tenantId,
    projectId: principal.projectId,
    keyId: principal.keyId,
    upstreamKeyId: ctx.upstreamKey?.id ?? null,
    method: ctx.method,
    apiVersion: what.apiVersion,
    endpoint: what.endpoint,
    model,
    stream: result.meter.sse || what.endpoint === 'streamGenerateContent' ? 1 : 0,
    status: result.status,
    outcome: result.outcome,
    usage,
    ttfbMs: result.ttfbMs === null ? null : Math.round(result.ttfbMs),
    latencyMs,
    bytesIn: ctx.body.length(),
    bytesOut: result.bytesOut,
  });
  log.info(
    {
      requestId: ctx.requestId,
      tenant: principal.tenantSlug,
      project: principal.projectSlug,
      keyPrefix: principal.keyPrefix,
      endpoint: what.endpoint,
      model,
      status: result.status,
      outcome: result.outcome,
      totalTokens: usage?.totalTokens ?? null,
      ms: latencyMs,
      ...(result.errorMessage ? { error: result.errorMessage } : {}),
      ...(result.meter.bareJsonLines ? { bareJsonLines: result.meter.bareJsonLines } : {}),
    },
    'request completed',
  );
  // Never asked for (headers.ts withoutZstd), so rare: worth a line of its own, since the body was
  // neither metered nor searched for an echoed key.
  if (result.meter.unreadableEncoding !== undefined) {
    log.warn(
      { requestId: ctx.requestId, endpoint: what.endpoint, status: result.status, contentEncoding: result.meter.unreadableEncoding },
      'upstream answered in a content-encoding the gateway cannot decode: not metered, not scrubbed',
    );
  }
}
