import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Principal } from '../exchange/principal.js';
import type { Outcome } from '../metering/row.js';
import type { Usage } from '../metering/usage.js';
import { redactSecrets } from '../redact.js';
import { errorType, PROVIDER, usageAttributes } from './genai.js';
import type { GenAiInstruments } from './instruments.js';

/**
 * The conventions have no realtime operation yet (a `realtime_session` proposal is still open), and
 * `generate_content` is the well-known value for Gemini's content generation, which they say MUST be
 * used when it applies.
 */
const OPERATION = 'generate_content';
const USAGE_KEYS = [
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.reasoning.output_tokens',
  'gemini_gateway.usage.total_tokens',
] as const;

/** What the Live surface passes to Telemetry.live(). */
export interface LiveTracingOptions {
  /** LIVE_UPSTREAM_BASE_URL (or UPSTREAM_BASE_URL). */
  upstream: URL;
  /** Upstream keys to scrub from close reasons and error messages. */
  secrets: readonly string[];
}

export interface LiveTracingDeps extends LiveTracingOptions {
  tracer: Tracer;
  instruments: GenAiInstruments;
}

/** How a session ended, as the session's `live_session` row records it. */
export interface LiveSpanEnd {
  code: number;
  reason: string;
  by: 'client' | 'upstream' | 'gateway';
  outcome: Outcome;
  turns: number;
  model: string | null;
  upstreamKeyId: string | null;
  ttfbMs: number | null;
  bytesIn: number;
  bytesOut: number;
}

/**
 * One Live session's spans: the SERVER span from the upgrade request to the last close, its
 * admission child (the upgrade's checks, then the setup's) and the CLIENT span of the upstream WebSocket. Every call
 * happens at a session milestone or a completed turn, never per relayed frame.
 */
export interface LiveSessionTrace {
  /** The caller is known (tenant key or ephemeral token). */
  authenticated(principal: Principal, authTokenId: string | null): void;
  /** The upgrade was refused with an HTTP status: admission and session end with error status. */
  refused(status: number, message: string): void;
  /** The upgrade is accepted (`limited`: a quota rule applied to it); admission goes on until the setup is. */
  admitted(limited: boolean): void;
  /** The setup was admitted (admission ends) and upstream is dialled: opens the upstream span and returns the headers (`traceparent`…) that carry it. */
  upstream(url: string): Record<string, string>;
  /** The upstream handshake's HTTP status (101, or the refusal's). */
  upstreamStatus(status: number): void;
  /** A turn's usage, as its `live` usage row records it: a span event and the GenAI metrics. */
  turn(usage: Usage, outcome: Outcome, latencyMs: number, model: string | null): void;
  /** Ends everything (idempotent). */
  end(e: LiveSpanEnd): void;
}

export interface LiveTracing {
  /** A session span for an upgrade on a Live path, continuing the client's W3C trace context. */
  open(headers: IncomingHttpHeaders, requestId: string, apiVersion: string): LiveSessionTrace;
}

const at = (perf: number): number => performance.timeOrigin + perf;

export function createLiveTracing(d: LiveTracingDeps): LiveTracing {
  const { tracer, instruments } = d;
  const server: Attributes = {
    'server.address': d.upstream.hostname,
    'server.port': d.upstream.port ? Number(d.upstream.port) : d.upstream.protocol === 'https:' || d.upstream.protocol === 'wss:' ? 443 : 80,
  };

  return {
    open(headers, requestId, apiVersion) {
      const startedAt = performance.now();
      const remote = propagation.extract(ROOT_CONTEXT, headers);
      const span = tracer.startSpan(OPERATION, {
        kind: SpanKind.SERVER,
        startTime: at(startedAt),
        attributes: {
          'gen_ai.operation.name': OPERATION,
          'gen_ai.provider.name': PROVIDER,
          // The conventions' conversation (session, thread) id: the session's request id.
          'gen_ai.conversation.id': requestId,
          ...server,
          'http.request.method': 'GET',
          'gemini_gateway.request_id': requestId,
          'gemini_gateway.endpoint': 'live_session',
          'gemini_gateway.api_version': apiVersion,
        },
      }, remote);
      const parent: Context = trace.setSpan(remote, span);
      let admission: Span | null = tracer.startSpan('gemini_gateway.admission', { startTime: at(startedAt) }, parent);
      let upstream: Span | null = null;
      // The session (and its ttfb clock) starts when the upgrade is accepted.
      let admittedAt = startedAt;
      let principal: Principal | null = null;
      let quota: 'unlimited' | 'admitted' | 'refused' | 'cut' = 'unlimited';
      const totals = new Map<string, number>();
      let metered = false;
      let turns = 0;
      let ended = false;

      const scrub = (text: string) => redactSecrets(text, d.secrets);

      return {
        authenticated(p, authTokenId) {
          principal = p;
          span.setAttributes({
            'gemini_gateway.tenant': p.tenantSlug,
            'gemini_gateway.tenant_id': p.tenantId,
            'gemini_gateway.project': p.projectSlug,
            'gemini_gateway.project_id': p.projectId,
            'gemini_gateway.key_id': p.keyId,
          });
          if (authTokenId) span.setAttribute('gemini_gateway.live.auth_token_id', authTokenId);
        },
        refused(status, message) {
          if (ended) return;
          ended = true;
          const now = at(performance.now());
          const msg = scrub(message);
          // Before authentication a 429 is the failed-attempt throttle, not a quota, and there is no project to decide for.
          if (status === 429 && principal) quota = 'refused';
          admission?.setStatus({ code: SpanStatusCode.ERROR, message: msg });
          admission?.end(now);
          admission = null;
          span.setAttributes({ 'http.response.status_code': status, 'gemini_gateway.outcome': 'gateway_error', 'error.type': 'gateway_error' });
          if (principal) span.setAttribute('gemini_gateway.quota.decision', quota);
          span.setStatus({ code: SpanStatusCode.ERROR, message: msg });
          span.end(now);
        },
        admitted(limited) {
          if (limited) quota = 'admitted';
          span.setAttribute('http.response.status_code', 101);
          admittedAt = performance.now();
        },
        upstream(url) {
          // One clock for every timestamp (the SDK's own default is coarser), so children nest exactly.
          const now = at(performance.now());
          admission?.end(now);
          admission = null;
          upstream = tracer.startSpan('GET', { kind: SpanKind.CLIENT, startTime: now, attributes: { 'http.request.method': 'GET', ...server, 'url.full': scrub(url) } }, parent);
          const carrier: Record<string, string> = {};
          propagation.inject(trace.setSpan(parent, upstream), carrier);
          return carrier;
        },
        upstreamStatus(status) {
          upstream?.setAttribute('http.response.status_code', status);
        },
        turn(usage, outcome, latencyMs, model) {
          turns++;
          metered = true;
          const u = usageAttributes(usage);
          for (const k of USAGE_KEYS) totals.set(k, (totals.get(k) ?? 0) + (u[k] as number));
          span.addEvent('gemini_gateway.live.turn', { ...u, 'gemini_gateway.live.turn': turns, 'gemini_gateway.outcome': outcome, 'gemini_gateway.live.turn.duration_ms': Math.round(latencyMs) }, at(performance.now()));
          const attrs: Attributes = {
            'gen_ai.operation.name': OPERATION,
            'gen_ai.provider.name': PROVIDER,
            ...server,
            'gemini_gateway.endpoint': 'live',
          };
          if (principal) {
            attrs['gemini_gateway.tenant'] = principal.tenantSlug;
            attrs['gemini_gateway.project'] = principal.projectSlug;
          }
          if (model) attrs['gen_ai.request.model'] = model;
          // A turn has no status of its own: a partial one carries the session's outcome.
          const errType = outcome === 'ok' || outcome === 'token_expired' ? null : outcome;
          instruments.duration.record(latencyMs / 1000, errType ? { ...attrs, 'error.type': errType } : attrs);
          instruments.tokenUsage.record(u['gen_ai.usage.input_tokens'] as number, { ...attrs, 'gen_ai.token.type': 'input' });
          instruments.tokenUsage.record(u['gen_ai.usage.output_tokens'] as number, { ...attrs, 'gen_ai.token.type': 'output' });
        },
        end(e) {
          if (ended) return;
          ended = true;
          const now = at(performance.now());
          const errType = errorType(e.outcome, e.code);
          const message = errType ? scrub(e.reason || e.outcome) : '';
          if (e.outcome === 'quota_cut') quota = 'cut';
          if (admission) {
            // Refused at the setup (invalid, out of scope, foreign resumption handle), or the client left before sending one.
            admission.setStatus({ code: SpanStatusCode.ERROR, message });
            admission.end(now);
            admission = null;
          }
          if (upstream) {
            if (errType && e.outcome !== 'client_aborted' && e.outcome !== 'gateway_error') {
              upstream.setAttribute('error.type', errType);
              upstream.setStatus({ code: SpanStatusCode.ERROR, message });
            }
            upstream.end(now);
          }
          if (span.isRecording()) {
            if (e.model) {
              span.updateName(`${OPERATION} ${e.model}`);
              span.setAttribute('gen_ai.request.model', e.model);
            }
            const attrs: Attributes = {
              'gemini_gateway.outcome': e.outcome,
              'gemini_gateway.quota.decision': quota,
              'gemini_gateway.live.turns': e.turns,
              'gemini_gateway.live.close_code': e.code,
              'gemini_gateway.live.closed_by': e.by,
              'gemini_gateway.live.bytes_in': e.bytesIn,
              'gemini_gateway.live.bytes_out': e.bytesOut,
            };
            if (e.reason) attrs['gemini_gateway.live.close_reason'] = scrub(e.reason);
            if (e.upstreamKeyId) attrs['gemini_gateway.upstream_key_id'] = e.upstreamKeyId;
            if (metered) for (const [k, v] of totals) attrs[k] = v;
            if (errType) attrs['error.type'] = errType;
            span.setAttributes(attrs);
            if (e.ttfbMs !== null) span.addEvent('gemini_gateway.first_byte', { 'gemini_gateway.ttfb_ms': e.ttfbMs }, at(admittedAt + e.ttfbMs));
            if (errType) span.setStatus({ code: SpanStatusCode.ERROR, message });
          }
          span.end(now);
        },
      };
    },
  };
}
