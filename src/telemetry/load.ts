import type { TelemetryConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { Telemetry } from './telemetry.js';

export interface TelemetryOptions {
  config: TelemetryConfig;
  log: Logger;
  /** Where requests go (UPSTREAM_BASE_URL): server.address / server.port of the GenAI calls. */
  upstreamBaseUrl: string;
  /** Upstream keys to scrub from captured content besides anything key-shaped. */
  secrets: readonly string[];
}

/**
 * Starts the OpenTelemetry SDK. The SDK and exporters are imported here, on demand, so a gateway
 * with telemetry off never loads them.
 */
export async function loadTelemetry(opts: TelemetryOptions): Promise<Telemetry> {
  const { startTelemetry } = await import('./sdk.js');
  return startTelemetry(opts);
}
