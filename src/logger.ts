import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
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

export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT when set; otherwise readable lines for a person at a terminal and JSON for everything else. */
export function resolveLogFormat(configured: LogFormat | undefined, stdoutIsTty: boolean): LogFormat {
  return configured ?? (stdoutIsTty ? 'pretty' : 'json');
}

/**
 * The root logger. `secrets` (upstream key, admin token) and anything shaped like a key or a
 * `key=` query parameter are scrubbed from every serialised line, so a library or upstream message
 * that echoes a credential cannot carry it into the logs. `pretty` formats those already scrubbed
 * lines with pino-pretty (synchronously, no worker thread) and scrubs its output once more.
 */
export function createLogger(level: string, destination?: DestinationStream, secrets: readonly (string | undefined)[] = [], format: LogFormat = 'json'): Logger {
  const known = secrets.filter((s): s is string => typeof s === 'string' && s.length > 0);
  const out = destination ?? (format === 'pretty' ? process.stdout : undefined);
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: { streamWrite: (line) => redactSecrets(line, known) },
      formatters: { level: (label) => ({ level: label }) },
    },
    format === 'pretty' ? prettyStream(out!, known) : destination,
  );
}

function prettyStream(out: DestinationStream, known: readonly string[]): DestinationStream {
  const scrubbed = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.write(redactSecrets(chunk.toString(), known));
      cb();
    },
  });
  const tty = (out as { isTTY?: boolean }).isTTY === true;
  // Loaded only when asked for: JSON-logging processes (servers, tests, children) skip its start-up cost.
  const { PinoPretty } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return PinoPretty({ sync: true, singleLine: true, colorize: tty, translateTime: 'SYS:HH:MM:ss.l', destination: scrubbed });
}
