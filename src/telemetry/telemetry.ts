import type { ProxyStage } from '../proxy/stage.js';

/**
 * OpenTelemetry for the data plane, present only when the OTEL_* variables turn it on. `open` goes
 * first in the stage list (its span covers the request, refused ones included) and `admitted` last
 * (admission ends there and the upstream call begins). When off there is no Telemetry at all: no
 * stage runs and no OTel package is loaded.
 */
export interface Telemetry {
  open: ProxyStage;
  admitted: ProxyStage;
  /** Exports what is still buffered (spans, the last metric interval) and unregisters the SDK. */
  shutdown(): Promise<void>;
}
