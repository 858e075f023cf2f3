import { context, diag, DiagLogLevel, metrics, propagation, trace, type ContextManager } from '@opentelemetry/api';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler } from '@opentelemetry/sdk-trace';
import { performance } from 'node:perf_hooks';
import type { TelemetryConfig } from '../config.js';
import { urlWithoutCredentials } from '../redact.js';
import { createGenAiInstruments } from './instruments.js';
import { createLiveTracing } from './live.js';
import type { Telemetry, TelemetryOptions } from './telemetry.js';

const SCOPE = 'gemini-gateway';
const SHUTDOWN_MS = 5000;

/**
 * NodeSDK with OTLP/HTTP exporters built from the parsed config (not from process.env, which only
 * config.ts reads), so a test can point a gateway at its own receiver. The SDK registers itself as
 * the process's global OTel provider; shutdown() unregisters it again.
 */
export function startTelemetry({ config, log }: TelemetryOptions): Telemetry {
  // Export failures (collector down) are worth a warning, at most one per 10 s (a dead collector fails every batch).
  let lastWarn = -Infinity;
  let suppressed = 0;
  const warn = (msg: string): void => {
    const now = performance.now();
    if (now - lastWarn < 10_000) return void suppressed++;
    log.warn({ otel: msg, suppressed }, 'OpenTelemetry export problem');
    lastWarn = now;
    suppressed = 0;
  };
  diag.setLogger(
    {
      error: warn,
      warn,
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    DiagLogLevel.WARN,
  );
  const json = config.protocol === 'http/json';
  const sdk = new NodeSDK({
    serviceName: config.serviceName,
    sampler: sampler(config.sampler),
    ...(config.tracesUrl ? { traceExporter: json ? new JsonTraceExporter({ url: config.tracesUrl }) : new ProtoTraceExporter({ url: config.tracesUrl }) } : { spanProcessors: [] }),
    metricReaders: config.metricsUrl
      ? [
          new PeriodicExportingMetricReader({
            exporter: json ? new JsonMetricExporter({ url: config.metricsUrl }) : new ProtoMetricExporter({ url: config.metricsUrl }),
            exportIntervalMillis: config.metricIntervalMs,
            exportTimeoutMillis: Math.min(30_000, config.metricIntervalMs),
          }),
        ]
      : [],
    // Parent contexts are passed explicitly, so no async context tracking: the default one hooks every promise (~5% CPU per request measured).
    contextManager: null as unknown as ContextManager,
    // The gateway emits no OTel logs: no log exporter from the environment either.
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  // Node sends an endpoint's user info as basic auth, so a collector's credentials can sit in these URLs.
  const shown = (url: string | null) => (url ? urlWithoutCredentials(url) : null);
  log.info({ traces: shown(config.tracesUrl), metrics: shown(config.metricsUrl), protocol: config.protocol, sampler: config.sampler.name }, 'OpenTelemetry export on');
  const tracer = trace.getTracer(SCOPE);
  const instruments = createGenAiInstruments(metrics.getMeter(SCOPE));
  return {
    tracer,
    instruments,
    live: (opts) => createLiveTracing({ ...opts, tracer, instruments }),
    async shutdown() {
      // A dead collector would hold the exit for the exporter's own timeout and retries: 5 s is enough for a live one.
      const done = sdk.shutdown().then(
        () => true,
        (err: Error) => void log.warn({ err: err.message }, 'OpenTelemetry shutdown failed'),
      );
      let timer: NodeJS.Timeout | undefined;
      const flushed = await Promise.race([done, new Promise<false>((r) => (timer = setTimeout(() => r(false), SHUTDOWN_MS)))]);
      clearTimeout(timer);
      if (flushed === false) log.warn({ ms: SHUTDOWN_MS }, 'OpenTelemetry: final export did not finish in time; the rest is dropped');
      trace.disable();
      metrics.disable();
      propagation.disable();
      context.disable();
      diag.disable();
    },
  };
}

/** OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG as the spec defines them. */
function sampler({ name, ratio }: TelemetryConfig['sampler']): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}
