// A real HTTP server that impersonates generativelanguage.googleapis.com by
// replaying recorded fixtures, and that polices what the gateway sends it:
// the upstream key must be right, and no tenant secret may leak through.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  googleError,
  sendJson,
  type FakeUpstream,
  type FakeUpstreamOptions,
  type RecordedRequest,
  type RouteContext,
  type UpstreamState,
} from './fake-upstream-http.js';
import { handleResourceRoutes } from './fake-upstream-resources.js';
import { handleStoreRoutes } from './fake-upstream-stores.js';
import { loadErrorText } from './fixtures.js';
import { handleModelRoutes } from './fake-upstream-routes.js';
import { mulberry32 } from './sse-writer.js';

export type { FakeUpstream, FakeUpstreamOptions, RecordedRequest } from './fake-upstream-http.js';

const INVALID_KEY_BODY = {
  error: {
    code: 400,
    message: 'API key not valid. Please pass a valid API key.',
    status: 'INVALID_ARGUMENT',
    details: [
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com' },
    ],
  },
};

const PATH_RE = /^\/(?:(upload)\/)?(v\d+[a-z0-9]*)\/(.+)$/;

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Where (if anywhere) a forbidden secret shows up; never echoes the secret itself. */
function findSecret(rec: RecordedRequest, secrets: string[]): string | undefined {
  const places: Array<[string, string]> = [
    ['url', rec.url],
    ['url (decoded)', safeDecode(rec.url)],
    ['body', rec.body.toString('utf8')],
  ];
  for (let i = 0; i < rec.rawHeaders.length; i += 2) {
    places.push([`header ${rec.rawHeaders[i]}`, `${rec.rawHeaders[i]}: ${rec.rawHeaders[i + 1]}`]);
  }
  for (const [where, text] of places) {
    if (secrets.some((s) => text.includes(s))) return where;
  }
  return undefined;
}

function newState(): UpstreamState {
  return {
    files: new Map(),
    uploads: new Map(),
    cachedContents: new Map(),
    batches: new Map(),
    nextId: (prefix) => prefix + randomBytes(6).toString('hex'),
  };
}

const REFUSALS = {
  'rate-limited': () => loadErrorText('google-429-retry-info'),
  'quota-403': () => ({ error: { code: 403, message: 'Quota exceeded for this project.', status: 'RESOURCE_EXHAUSTED' } }),
  invalid: () => INVALID_KEY_BODY,
} as const;

export async function startFakeUpstream(opts: FakeUpstreamOptions): Promise<FakeUpstream> {
  const requests: RecordedRequest[] = [];
  const violations: string[] = [];
  const keys = [opts.upstreamKey, ...(opts.extraKeys ?? [])];
  const states = new Map(keys.map((k) => [k, newState()]));
  let baseUrl = '';
  let counter = 0;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestIndex = counter++;
    let markFinished!: () => void;
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.alloc(0),
      closedEarly: false,
      finished: new Promise<void>((resolve) => (markFinished = resolve)),
      status: 0,
    };
    // Writes racing a client disconnect may emit 'error'; the 'close' handler already records it.
    res.on('error', () => {});
    res.on('finish', () => markFinished());
    res.on('close', () => {
      // 'close' without a prior 'finish' means the client hung up on us mid-response.
      if (!res.writableFinished) rec.closedEarly = true;
      markFinished();
    });

    // Requests arrive streamed; recording only after the last byte keeps rec.body complete.
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      rec.body = Buffer.concat(chunks);
      rec.closedEarly = true;
      requests.push(rec);
      return;
    }
    rec.body = Buffer.concat(chunks);
    requests.push(rec);

    const url = new URL(rec.url, baseUrl);
    const ctx: RouteContext = {
      req,
      res,
      rec,
      url,
      method: rec.method,
      version: '',
      upload: false,
      rest: '',
      opts,
      baseUrl,
      state: states.get(opts.upstreamKey)!,
      key: opts.upstreamKey,
      rng: mulberry32((opts.splitSeed ?? 0x5eed) + Math.imul(requestIndex, 0x9e3779b1)),
    };
    const where = `${rec.method} ${url.pathname}`;

    if (url.searchParams.has('key')) violations.push(`key query parameter reached upstream: ${where}`);
    if (req.headers.authorization !== undefined) violations.push(`authorization header reached upstream: ${where}`);
    const secrets = (opts.forbiddenSecrets?.() ?? []).filter((s) => s.length > 0);
    const leak = findSecret(rec, secrets);
    if (leak) {
      violations.push(`forbidden secret in ${leak}: ${where}`);
      return googleError(ctx, 400, 'Request carried a forbidden secret (fake upstream).');
    }
    const key = String(req.headers['x-goog-api-key'] ?? '');
    // A project's own key (bring-your-own-key tests) becomes acceptable while the fake runs: its own Google project.
    if (!states.has(key) && key && opts.moreUpstreamKeys?.().includes(key)) states.set(key, newState());
    if (!states.has(key)) {
      violations.push('missing upstream key');
      return sendJson(ctx, 400, INVALID_KEY_BODY);
    }
    ctx.key = key;
    ctx.state = states.get(key)!;
    const refusal = opts.refuseKey?.(key, rec);
    if (refusal) return sendJson(ctx, refusal === 'rate-limited' ? 429 : refusal === 'invalid' ? 400 : 403, REFUSALS[refusal]());

    if (opts.intercept && (await opts.intercept(ctx))) return;
    const m = PATH_RE.exec(url.pathname);
    if (m) {
      ctx.upload = m[1] === 'upload';
      ctx.version = m[2]!;
      ctx.rest = m[3]!;
      if (handleResourceRoutes(ctx) || (!ctx.upload && handleStoreRoutes(ctx))) return;
      if (!ctx.upload && (await handleModelRoutes(ctx))) return;
    }
    googleError(ctx, 404, `Method not found: ${where}`);
  }

  const server = http.createServer({ noDelay: true }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      violations.push(`fake upstream crashed: ${String(err)}`);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(JSON.stringify({ error: { code: 500, message: String(err), status: 'INTERNAL' } }));
      } else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url: baseUrl,
    port,
    requests,
    violations,
    close() {
      // Destroy keep-alive and half-finished streams too, so a test can never hang on close.
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
