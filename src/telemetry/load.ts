import type { Telemetry, TelemetryOptions } from './telemetry.js';

/**
 * Starts the OpenTelemetry SDK. The SDK and exporters are imported here, on demand, so a gateway
 * with telemetry off never loads them.
 */
export async function loadTelemetry(opts: TelemetryOptions): Promise<Telemetry> {
  const { startTelemetry } = await import('./sdk.js');
  return startTelemetry(opts);
}
