import type { Tracer } from '@opentelemetry/api';
import type { TelemetryConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { GenAiInstruments } from './instruments.js';
import type { LiveTracing, LiveTracingOptions } from './live.js';

export interface TelemetryOptions {
  config: TelemetryConfig;
  log: Logger;
}

/**
 * A started OpenTelemetry SDK: what the telemetry stages (stage.ts, wired in stages.ts) record
 * through. Present only when the OTEL_* variables turn it on; when off there is none at all, so no
 * stage runs and no SDK package is loaded.
 */
export interface Telemetry {
  tracer: Tracer;
  instruments: GenAiInstruments;
  /** Spans and metrics for Live sessions; built here so the Live surface loads no OTel code when off. */
  live(opts: LiveTracingOptions): LiveTracing;
  /** Exports what is still buffered (spans, the last metric interval) and unregisters the SDK. */
  shutdown(): Promise<void>;
}
