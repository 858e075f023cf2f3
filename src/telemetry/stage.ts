import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { performance } from 'node:perf_hooks';
import { requestJson, type ExchangeResult, type ProxyContext, type ProxyStage } from '../exchange/stage.js';
import { redactSecrets } from '../redact.js';
import { inputContent, outputContent } from './content.js';
import { errorType, finishReasons, operationName, PROVIDER, usageAttributes } from './genai.js';
import type { Telemetry } from './telemetry.js';

const STATE = Symbol('telemetry');

type QuotaDecision = 'unlimited' | 'admitted' | 'refused' | 'cut';

interface RequestTrace {
  span: Span;
  /** Context holding `span`: the parent of admission and upstream. */
  parent: Context;
  /** Open until the last stage admits the request (or one refuses it). */
  admission: Span | null;
  upstream: Span | null;
  op: string | null;
  quota: QuotaDecision;
}

export interface TelemetryStageDeps {
  telemetry: Telemetry;
  /** UPSTREAM_BASE_URL. */
  upstream: URL;
  captureContent: boolean;
  /** Upstream keys to scrub from captured content. */
  secrets: readonly string[];
}

/** Epoch milliseconds of a performance.now() reading, so spans use the request's own timestamps. */
const at = (perf: number): number => performance.timeOrigin + perf;

/**
 * One SERVER span per proxied request (continuing a client's W3C trace context), with children for
 * admission (authentication and every stage's checks) and the upstream call, whose context goes
 * upstream as `traceparent`. Everything is read from the context, the ExchangeResult and the meter's
 * result when the exchange is over: nothing is parsed per frame.
 */
export function createTelemetryStages(d: TelemetryStageDeps): { open: ProxyStage; admitted: ProxyStage } {
  const { tracer, instruments } = d.telemetry;
  const server: Attributes = { 'server.address': d.upstream.hostname, 'server.port': d.upstream.port ? Number(d.upstream.port) : d.upstream.protocol === 'https:' ? 443 : 80 };
  const upstreamBase = d.upstream.origin + d.upstream.pathname.replace(/\/+$/, '');
  const secretsOf = (ctx: ProxyContext) => (ctx.upstreamKey ? [ctx.upstreamKey.secret, ...d.secrets] : d.secrets);

  const open: ProxyStage = {
    name: 'telemetry',
    before(ctx) {
      const remote = propagation.extract(ROOT_CONTEXT, ctx.incoming.headers);
      const op = operationName(ctx.what.endpoint, ctx.what.endpoint === 'interactions.create' ? jsonOf(ctx) : null);
      const start = at(ctx.startedAt);
      const name = op ? (ctx.model ? `${op} ${ctx.model}` : op) : `${ctx.method} ${ctx.what.endpoint}`;
      const span = tracer.startSpan(name, { kind: SpanKind.SERVER, startTime: start }, remote);
      if (span.isRecording()) {
        span.setAttributes(requestAttributes(ctx, op, server));
        if (d.captureContent && op) span.setAttributes(inputContent(ctx.what.endpoint, jsonOf(ctx), secretsOf(ctx)));
      }
      const parent = trace.setSpan(remote, span);
      const admission = tracer.startSpan('gemini_gateway.admission', { startTime: start }, parent);
      const t: RequestTrace = { span, parent, admission, upstream: null, op, quota: 'unlimited' };
      ctx.state[STATE] = t;
    },
    after(ctx, result) {
      const t = ctx.state[STATE] as RequestTrace | undefined;
      if (t) finish(ctx, result, t);
    },
  };

  const admitted: ProxyStage = {
    name: 'telemetry.admitted',
    before(ctx) {
      const t = ctx.state[STATE] as RequestTrace | undefined;
      // No upstream key (none configured yet): the exchange answers 503 without going upstream, so
      // admission stays open for finish() to end as the refusal it is.
      if (!t || !ctx.upstreamKey) return;
      const now = at(performance.now());
      t.admission?.end(now);
      t.admission = null;
      // The quota stage adds rate-limit headers exactly when the project has limits.
      if (ctx.extraHeaders['ratelimit-policy'] !== undefined) t.quota = 'admitted';
      t.upstream = tracer.startSpan(
        ctx.method,
        { kind: SpanKind.CLIENT, startTime: now, attributes: { 'http.request.method': ctx.method, ...server, 'url.full': redactSecrets(upstreamBase + ctx.path) } },
        t.parent,
      );
      const carrier: Record<string, string> = {};
      propagation.inject(trace.setSpan(t.parent, t.upstream), carrier);
      const headers: string[] = [];
      for (const name in carrier) headers.push(name.toLowerCase(), carrier[name]!);
      ctx.upstreamHeaders = headers.length ? headers : null;
      // Last stage: nothing after it resets this. Whole answers are kept for gen_ai.output.messages.
      if (d.captureContent && t.op) ctx.captureResponse = true;
    },
  };

  function finish(ctx: ProxyContext, result: ExchangeResult, t: RequestTrace): void {
    const endPerf = performance.now();
    const end = at(endPerf);
    const errType = errorType(result.outcome, result.status);
    const message = result.errorMessage ? redactSecrets(result.errorMessage, secretsOf(ctx)) : result.outcome;
    if (t.admission) {
      // A stage refused the request: it never went upstream.
      t.admission.setStatus({ code: SpanStatusCode.ERROR, message });
      t.admission.end(end);
      if (result.status === 429 && result.outcome === 'gateway_error') t.quota = 'refused';
    }
    if (result.outcome === 'quota_cut') t.quota = 'cut';
    if (t.upstream) {
      t.upstream.setAttribute('http.response.status_code', result.status);
      if (errType) {
        t.upstream.setAttribute('error.type', errType);
        t.upstream.setStatus({ code: SpanStatusCode.ERROR, message });
      }
      t.upstream.end(end);
    }
    const { usage, model: responseModel } = result.meter;
    const { span } = t;
    if (span.isRecording()) {
      const attrs: Attributes = {
        'http.response.status_code': result.status,
        'gemini_gateway.outcome': result.outcome,
        'gemini_gateway.quota.decision': t.quota,
      };
      if (ctx.upstreamKey?.id) attrs['gemini_gateway.upstream_key_id'] = ctx.upstreamKey.id;
      if (responseModel) attrs['gen_ai.response.model'] = responseModel;
      if (usage) Object.assign(attrs, usageAttributes(usage));
      const reasons = finishReasons(result.meter.source);
      if (reasons) attrs['gen_ai.response.finish_reasons'] = reasons;
      if (errType) attrs['error.type'] = errType;
      if (d.captureContent && t.op && !result.meter.sse) Object.assign(attrs, outputContent(ctx.what.endpoint, result.meter.head, secretsOf(ctx)));
      span.setAttributes(attrs);
      if (result.ttfbMs !== null) span.addEvent('gemini_gateway.first_byte', { 'gemini_gateway.ttfb_ms': result.ttfbMs }, at(ctx.startedAt + result.ttfbMs));
      if (errType) span.setStatus({ code: SpanStatusCode.ERROR, message });
    }
    span.end(end);
    if (t.op) record(ctx, result, t.op, (endPerf - ctx.startedAt) / 1000, errType);
  }

  function record(ctx: ProxyContext, result: ExchangeResult, op: string, seconds: number, errType: string | null): void {
    const attrs: Attributes = {
      'gen_ai.operation.name': op,
      'gen_ai.provider.name': PROVIDER,
      ...server,
      'gemini_gateway.tenant': ctx.principal.tenantSlug,
      'gemini_gateway.project': ctx.principal.projectSlug,
    };
    // The asked-for model is whatever text the client put in the path or body until upstream has
    // accepted it: as a label on refusals and upstream 404s, every made-up name would be a new series.
    if (ctx.model && result.outcome !== 'gateway_error' && result.status < 400) attrs['gen_ai.request.model'] = ctx.model;
    if (result.meter.model) attrs['gen_ai.response.model'] = result.meter.model;
    instruments.duration.record(seconds, errType ? { ...attrs, 'error.type': errType } : attrs);
    const usage = result.meter.usage;
    if (usage) {
      const u = usageAttributes(usage);
      instruments.tokenUsage.record(u['gen_ai.usage.input_tokens'] as number, { ...attrs, 'gen_ai.token.type': 'input' });
      instruments.tokenUsage.record(u['gen_ai.usage.output_tokens'] as number, { ...attrs, 'gen_ai.token.type': 'output' });
    }
    const streamed = result.meter.sse || ctx.what.endpoint === 'streamGenerateContent';
    if (streamed && result.ttfbMs !== null) instruments.timeToFirstChunk.record(result.ttfbMs / 1000, attrs);
  }

  return { open, admitted };
}

function requestAttributes(ctx: ProxyContext, op: string | null, server: Attributes): Attributes {
  const { principal, what } = ctx;
  const attrs: Attributes = {
    'server.address': server['server.address'],
    'server.port': server['server.port'],
    'http.request.method': ctx.method,
    'url.path': redactSecrets(ctx.path),
    'gemini_gateway.request_id': ctx.requestId,
    'gemini_gateway.tenant': principal.tenantSlug,
    'gemini_gateway.tenant_id': principal.tenantId,
    'gemini_gateway.project': principal.projectSlug,
    'gemini_gateway.project_id': principal.projectId,
    'gemini_gateway.key_id': principal.keyId,
    'gemini_gateway.endpoint': what.endpoint,
    'gemini_gateway.api_version': what.apiVersion,
  };
  if (op) {
    attrs['gen_ai.operation.name'] = op;
    attrs['gen_ai.provider.name'] = PROVIDER;
  }
  if (ctx.model) attrs['gen_ai.request.model'] = ctx.model;
  return attrs;
}

/** The request's JSON when the gateway holds it; a malformed body is simply not described. */
function jsonOf(ctx: ProxyContext): unknown {
  try {
    return requestJson(ctx);
  } catch {
    return null;
  }
}
