import { pino, type Logger, type DestinationStream } from 'pino';
import { redactSecrets } from './redact.js';

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

/**
 * The root logger. `secrets` (upstream key, admin token) and anything shaped like a key or a
 * `key=` query parameter are scrubbed from every serialised line, so a library or upstream message
 * that echoes a credential cannot carry it into the logs.
 */
export function createLogger(level: string, destination?: DestinationStream, secrets: readonly (string | undefined)[] = []): Logger {
  const known = secrets.filter((s): s is string => typeof s === 'string' && s.length > 0);
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: { streamWrite: (line) => redactSecrets(line, known) },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
