import { isIP } from 'node:net';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const positiveMs = z.coerce.number().int().min(0);

function isCidr(entry: string): boolean {
  const [addr = '', bits, extra] = entry.split('/');
  const v = isIP(addr);
  if (!v || extra !== undefined) return false;
  return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (v === 4 ? 32 : 128));
}

/** What the Redis client needs of REDIS_URL: a URL whose user and password percent-decode. Never echoes the value. */
function redisUrlParses(s: string): boolean {
  try {
    const u = new URL(s);
    decodeURIComponent(u.username);
    decodeURIComponent(u.password);
    return true;
  } catch {
    return false;
  }
}

const schema = z.object({
  PORT: port.default(8787),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_PATH: z.string().min(1).default('./data/gateway.db'),
  /** postgres://… selects Postgres instead of the SQLite file at DATABASE_PATH. */
  DATABASE_URL: z
    .string()
    // The message never echoes the value: it may hold a password.
    .refine((s) => /^postgres(ql)?:\/\/[^\s]+$/.test(s) && URL.canParse(s), 'must be a postgres:// or postgresql:// URL')
    .optional(),
  /** Postgres pool size per gateway process. */
  PG_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(10),
  /** Server-side statement_timeout on every pooled connection, so a slow database cannot stall a request or the writer. */
  PG_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(1).default(5000),
  /** How long opening a connection may take; at boot this bounds the "Postgres unreachable" wait. */
  PG_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(1).default(5000),
  UPSTREAM_BASE_URL: z.url().default('https://generativelanguage.googleapis.com'),
  /** Where Live API WebSockets go (http→ws, https→wss); defaults to UPSTREAM_BASE_URL. */
  LIVE_UPSTREAM_BASE_URL: z.url().optional(),
  GEMINI_API_KEY: z.string().min(1).optional(),
  /** More upstream keys (comma-separated); with GEMINI_API_KEY they form the pool requests spread over. */
  GEMINI_API_KEYS: z.string().optional(),
  /** How many times a request refused by one upstream key (429, quota, invalid key) is retried on another. */
  UPSTREAM_RETRY_ATTEMPTS: z.coerce.number().int().min(0).max(10).default(1),
  /** Cooldown for a key answering 429 when upstream names no RetryInfo delay. */
  UPSTREAM_KEY_COOLDOWN_MS: positiveMs.default(60_000),
  /** Upper bound on upstream pages the gateway reads to fill one filtered list page. */
  LIST_MAX_UPSTREAM_PAGES: z.coerce.number().int().min(1).max(100).default(10),
  /** Between the batch poller's scans, and each batch's first backoff step; 0 turns the poller off. */
  BATCH_POLL_INTERVAL_MS: positiveMs.default(60_000),
  /** The longest a running batch waits between two polls (its backoff's cap). */
  BATCH_POLL_MAX_INTERVAL_MS: positiveMs.default(600_000),
  /** Batch reads in flight at once; 0 turns the poller off. */
  BATCH_POLL_CONCURRENCY: z.coerce.number().int().min(0).max(64).default(4),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** json: one JSON object per line; pretty: readable lines (pino-pretty). Unset: pretty when stdout is a TTY. */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  PUBLIC_BASE_URL: z.url().optional(),
  SHUTDOWN_GRACE_MS: positiveMs.default(30_000),
  USAGE_FLUSH_INTERVAL_MS: positiveMs.default(50),
  USAGE_FLUSH_BATCH: z.coerce.number().int().min(1).default(500),
  KEY_CACHE_TTL_MS: positiveMs.max(1000).default(1000),
  UPSTREAM_CONNECTIONS: z.coerce.number().int().min(1).default(2048),
  UPSTREAM_CONNECT_TIMEOUT_MS: positiveMs.default(10_000),
  UPSTREAM_HEADERS_TIMEOUT_MS: positiveMs.default(600_000),
  UPSTREAM_BODY_TIMEOUT_MS: positiveMs.default(300_000),
  MAX_JSON_BODY_BYTES: z.coerce.number().int().min(1024).default(20 * 1024 * 1024),
  /** Per request under /upload/ (resumable chunks are ≤ 8 MiB; a single-request upload carries the whole file, ≤ 2 GB). */
  MAX_UPLOAD_BODY_BYTES: z.coerce.number().int().min(1024).default(2 * 1024 * 1024 * 1024),
  /** closed: answer 503 once USAGE_MAX_PENDING_ROWS unwritten rows pile up; open: keep serving, log loudly. */
  METERING_FAILURE: z.enum(['closed', 'open']).default('closed'),
  USAGE_MAX_PENDING_ROWS: z.coerce.number().int().min(1).default(50_000),
  /**
   * How long the usage writer thread waits for a lock another connection holds before it gives up
   * and retries later. It waits off the event loop; 0 (the default) keeps failures prompt and visible.
   */
  USAGE_WRITER_BUSY_TIMEOUT_MS: z.coerce.number().int().min(0).default(0),
  /**
   * How long the server's own connection waits for a write lock. Its writes are admin changes and
   * Live token uses, never usage (that is the writer thread's), and they meet the writer thread's
   * transactions, which hold the lock for milliseconds: failing at once would turn an ordinary
   * collision into a failed admin call. Reads never wait (WAL).
   */
  DATABASE_BUSY_TIMEOUT_MS: z.coerce.number().int().min(0).default(1000),
  /** Failed key checks per source address per window before that address gets 429; 0 disables. */
  AUTH_FAILURE_LIMIT: z.coerce.number().int().min(0).default(20),
  AUTH_FAILURE_WINDOW_MS: z.coerce.number().int().min(1000).default(60_000),
  GATEWAY_INTERNAL_STATS: z.stringbool().default(false),
  /** Old-generation growth allowed between full collections, in percent of what the last one kept (heap-settings.ts); 0 leaves V8's own. */
  GATEWAY_HEAP_GROWING_PERCENT: z.coerce.number().int().min(0).max(1000).default(50),
  /** Output tokens a quota reservation assumes when a request sets no maximum (maxOutputTokens). */
  QUOTA_DEFAULT_OUTPUT_TOKENS: z.coerce.number().int().min(0).default(4096),
  /** redis://… (Redis ≥ 7 or Valkey): quotas, key health, the auth throttle and cache invalidation shared by every replica. */
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    // The Redis client would otherwise fail at start with a bare "Invalid URL" or "URI malformed" naming nothing.
    .refine(redisUrlParses, 'must be a URL such as redis://:password@host:6379/0 (percent-encode reserved characters in the password)')
    .optional(),
  /** Prefix of every key the gateway writes in Redis (several gateways, or test runs, can share one server). */
  REDIS_KEY_PREFIX: z.string().min(1).max(64).default('ggw'),
  /**
   * Comma-separated CIDRs of the load balancers in front: X-Forwarded-For from those peers gives the
   * client address (key CIDR scopes, the auth throttle); from any other peer it is ignored.
   */
  TRUSTED_PROXIES: z
    .string()
    .optional()
    .transform((s) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean))
    .refine((list) => list.every(isCidr), 'must be comma-separated CIDRs such as 10.0.0.0/8,::1'),
  /**
   * Per project, model buckets of quota counters kept in memory past this many are dropped when idle
   * and no rule names their model (clients choose model names, so memory would otherwise grow with them).
   */
  QUOTA_MAX_MODEL_BUCKETS: z.coerce.number().int().min(10).default(1000),
  /** How long a dead replica's quota reservations and in-flight slots survive it in Redis. */
  QUOTA_LEASE_MS: z.coerce.number().int().min(1000).default(15_000),
  /** Redis unreachable: open serves on this replica's counters (logged once a minute); closed answers 503. */
  QUOTA_FAILURE: z.enum(['open', 'closed']).default('open'),
  /** N or auto (one per CPU): worker processes serving one port (node:cluster); needs REDIS_URL. */
  GATEWAY_WORKERS: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(256)]).optional(),
  /** Bearer token for /admin/v1; unset disables the admin API (503 with a how-to). */
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Master secret that encrypts stored upstream (bring-your-own) keys; unset refuses to store them. */
  GATEWAY_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Bearer token for GET /metrics besides ADMIN_TOKEN, so a scraper never holds admin rights. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** JSON price table(s) layered over the shipped src/usage/prices.json (same shape). */
  PRICES_FILE: z.string().min(1).optional(),
  /**
   * Lingering close (as nginx's lingering_time / lingering_timeout): after refusing a request whose
   * body is still arriving, keep reading and discarding it for at most this long in total, …
   */
  LINGERING_TIME_MS: positiveMs.default(30_000),
  /** … giving up after this long without a byte, … */
  LINGERING_TIMEOUT_MS: positiveMs.default(5_000),
  /** … or after this many discarded bytes, then close. 0 for any of the three closes at once. */
  LINGERING_MAX_BYTES: z.coerce.number().int().min(0).default(256 * 1024 * 1024),
  /** A request body from which no byte arrives for this long is given up on (slowloris); 0 waits for ever. */
  REQUEST_BODY_TIMEOUT_MS: positiveMs.default(60_000),
  /** Widest from/to range the usage API answers. */
  USAGE_MAX_RANGE_DAYS: z.coerce.number().int().min(1).default(400),
  // OpenTelemetry: the standard variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
  OTEL_SDK_DISABLED: z.stringbool().default(false),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json'], 'only the OTLP/HTTP protocols are supported: http/protobuf or http/json').default('http/protobuf'),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none']).default('otlp'),
  OTEL_METRICS_EXPORTER: z.enum(['otlp', 'none']).default('otlp'),
  OTEL_SERVICE_NAME: z.string().min(1).default('gemini-gateway'),
  OTEL_TRACES_SAMPLER: z
    .enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'])
    .default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  OTEL_METRIC_EXPORT_INTERVAL: z.coerce.number().int().min(100).default(60_000),
  /** The GenAI conventions' content switch: true / SPAN_ONLY / SPAN_AND_EVENT put prompts and answers on spans. */
  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: z
    .string()
    .transform((v) => v.trim().toLowerCase())
    .pipe(z.enum(['true', 'false', 'no_content', 'span_only', 'event_only', 'span_and_event']))
    .optional(),
});

/** What the OpenTelemetry setup needs; null when tracing and metrics export are off (the default). */
export interface TelemetryConfig {
  serviceName: string;
  /** OTLP/HTTP URLs per signal; null: that signal is not exported. */
  tracesUrl: string | null;
  metricsUrl: string | null;
  protocol: 'http/protobuf' | 'http/json';
  sampler: { name: z.infer<typeof schema>['OTEL_TRACES_SAMPLER']; ratio: number };
  metricIntervalMs: number;
  /** Prompt and response content on spans (keys scrubbed). */
  captureContent: boolean;
}

export type Config = Omit<z.infer<typeof schema>, 'PUBLIC_BASE_URL'> & {
  PUBLIC_BASE_URL: string;
  /** OpenTelemetry export, derived from the OTEL_* variables; null when off. */
  TELEMETRY: TelemetryConfig | null;
  /** Path of PUBLIC_BASE_URL without a trailing slash ('' when mounted at the root); stripped from incoming paths. */
  PUBLIC_PATH_PREFIX: string;
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Pure: validates an environment map and lists every bad variable at once, so an operator
 * fixes them in one go instead of one restart per typo. Empty (or blank) strings count as unset,
 * as they do in most .env tooling.
 */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // Blank counts as empty: `PORT= ` would otherwise coerce to 0 (a random port), `SHUTDOWN_GRACE_MS= ` to no grace at all.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v.trim() !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const c = result.data;
  // A URL names an IPv6 address in brackets (HOST=:: listens on every address).
  const host = c.HOST.includes(':') && !c.HOST.startsWith('[') ? `[${c.HOST}]` : c.HOST;
  const publicBase = (c.PUBLIC_BASE_URL ?? `http://${host}:${c.PORT}`).replace(/\/+$/, '');
  let publicPath: string;
  try {
    publicPath = new URL(publicBase).pathname.replace(/\/+$/, '');
  } catch {
    throw new ConfigError([`HOST: "${c.HOST}" makes no URL for the default PUBLIC_BASE_URL; set PUBLIC_BASE_URL`]);
  }
  return { ...c, PUBLIC_BASE_URL: publicBase, PUBLIC_PATH_PREFIX: publicPath, TELEMETRY: telemetryConfig(c) };
}

/**
 * Telemetry is on when an OTLP endpoint is named (generic or per signal) and the SDK is not disabled.
 * The generic endpoint gets the per-signal paths appended; a per-signal endpoint is used as is (the spec's rule).
 */
function telemetryConfig(c: z.infer<typeof schema>): TelemetryConfig | null {
  if (c.OTEL_SDK_DISABLED) return null;
  const base = c.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  const signal = (own: string | undefined, path: string, exporter: 'otlp' | 'none') =>
    exporter === 'none' ? null : (own ?? (base ? `${base}${path}` : null));
  const tracesUrl = signal(c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, '/v1/traces', c.OTEL_TRACES_EXPORTER);
  const metricsUrl = signal(c.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, '/v1/metrics', c.OTEL_METRICS_EXPORTER);
  if (!tracesUrl && !metricsUrl) return null;
  const capture = c.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT;
  return {
    serviceName: c.OTEL_SERVICE_NAME,
    tracesUrl,
    metricsUrl,
    protocol: c.OTEL_EXPORTER_OTLP_PROTOCOL,
    sampler: { name: c.OTEL_TRACES_SAMPLER, ratio: c.OTEL_TRACES_SAMPLER_ARG ?? 1 },
    metricIntervalMs: c.OTEL_METRIC_EXPORT_INTERVAL,
    captureContent: capture === 'true' || capture === 'span_only' || capture === 'span_and_event',
  };
}

/** The only place that reads process.env. */
export function loadConfig(): Config {
  return parseConfig(process.env);
}
