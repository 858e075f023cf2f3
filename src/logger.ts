import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Every path that could carry a secret. Request logging never logs raw headers or URLs with
 * queries, so this list is a second line of defence, not the first.
 */
export const REDACT_PATHS = [
  'key',
  'apiKey',
  'secret',
  'token',
  'upstreamKey',
  'headers["x-goog-api-key"]',
  'headers.authorization',
  'headers.cookie',
  'req.headers["x-goog-api-key"]',
  'req.headers.authorization',
  '*.key',
  '*.apiKey',
  '*.secret',
  '*.token',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
