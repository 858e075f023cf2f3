// files (incl. resumable upload), cachedContents and batches: just enough state
// for a gateway's pass-through and URL-rewriting to be exercised.
import { createHash, randomBytes } from 'node:crypto';
import { fakeTokenCount } from './fixtures.js';
import { googleError, parseJsonBody, sendBytes, sendJson, type RouteContext, type StoredBatch } from './fake-upstream-http.js';

const now = (): string => new Date().toISOString();
const inHours = (h: number): string => new Date(Date.now() + h * 3600_000).toISOString();

function header(ctx: RouteContext, name: string): string {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v.join(', ') : (v ?? '');
}

/** One page of a list, honouring pageSize and an opaque pageToken (here: the offset, base64). */
function page(ctx: RouteContext, field: string, all: unknown[]): Record<string, unknown> {
  const size = Number(ctx.url.searchParams.get('pageSize')) || 10;
  const token = ctx.url.searchParams.get('pageToken');
  const from = token ? Number(Buffer.from(token, 'base64').toString()) : 0;
  const items = all.slice(from, from + size);
  const out: Record<string, unknown> = items.length ? { [field]: items } : {};
  if (from + size < all.length) out.nextPageToken = Buffer.from(String(from + size)).toString('base64');
  return out;
}

function startUpload(ctx: RouteContext): void {
  const body = parseJsonBody(ctx) ?? {};
  const file = (body.file ?? {}) as Record<string, unknown>;
  const uploadId = randomBytes(16).toString('hex');
  ctx.state.uploads.set(uploadId, {
    version: ctx.version,
    meta: {
      ...file,
      mimeType: header(ctx, 'x-goog-upload-header-content-type') || file.mimeType || 'application/octet-stream',
    },
    chunks: [],
    size: 0,
  });
  // Absolute URL on this server: a gateway must rewrite it to its own public URL.
  const uploadUrl = `${ctx.baseUrl}/upload/${ctx.version}/files?upload_id=${uploadId}&upload_protocol=resumable`;
  sendBytes(ctx, 200, 'text/plain; charset=utf-8', Buffer.alloc(0), {
    'x-goog-upload-url': uploadUrl,
    'x-goog-upload-control-url': uploadUrl,
    'x-goog-upload-status': 'active',
    'x-goog-upload-chunk-granularity': '8388608',
  });
}

function uploadChunk(ctx: RouteContext, uploadId: string): void {
  const upload = ctx.state.uploads.get(uploadId);
  if (!upload) return googleError(ctx, 404, `Upload ${uploadId} not found.`);
  const commands = header(ctx, 'x-goog-upload-command').split(',').map((c) => c.trim().toLowerCase());
  const offset = header(ctx, 'x-goog-upload-offset');
  if (commands.includes('upload')) {
    if (offset !== '' && Number(offset) !== upload.size) {
      return googleError(ctx, 400, `Upload offset ${offset} does not match received size ${upload.size}.`);
    }
    upload.chunks.push(ctx.rec.body);
    upload.size += ctx.rec.body.length;
  }
  if (!commands.includes('finalize')) {
    return sendBytes(ctx, 200, 'text/plain; charset=utf-8', Buffer.alloc(0), {
      'x-goog-upload-status': 'active',
      'x-goog-upload-size-received': String(upload.size),
    });
  }
  ctx.state.uploads.delete(uploadId);
  const id = ctx.state.nextId('');
  const bytes = Buffer.concat(upload.chunks);
  const meta: Record<string, unknown> = {
    name: `files/${id}`,
    ...(upload.meta.displayName !== undefined ? { displayName: upload.meta.displayName } : {}),
    mimeType: upload.meta.mimeType,
    sizeBytes: String(bytes.length),
    createTime: now(),
    updateTime: now(),
    expirationTime: inHours(48),
    sha256Hash: Buffer.from(createHash('sha256').update(bytes).digest('hex')).toString('base64'),
    uri: `${ctx.baseUrl}/${upload.version}/files/${id}`,
    state: 'ACTIVE',
    source: 'UPLOADED',
  };
  ctx.state.files.set(id, { meta, bytes });
  sendJson(ctx, 200, { file: meta }, { 'x-goog-upload-status': 'final' });
}

function files(ctx: RouteContext): boolean {
  const { method, rest } = ctx;
  if (ctx.upload && rest === 'files' && method === 'POST') {
    const uploadId = ctx.url.searchParams.get('upload_id');
    if (uploadId) uploadChunk(ctx, uploadId);
    else if (header(ctx, 'x-goog-upload-command').toLowerCase().includes('start')) startUpload(ctx);
    else googleError(ctx, 400, 'Only resumable uploads are supported by the fake upstream.');
    return true;
  }
  // Whether Google lists at `files/` is unknown: the fake assumes the worst, that it does.
  if ((rest === 'files' || rest === 'files/') && method === 'GET') {
    sendJson(ctx, 200, page(ctx, 'files', [...ctx.state.files.values()].map((f) => f.meta)));
    return true;
  }
  const m = /^files\/([^/:]+)(:download)?$/.exec(rest);
  if (!m) return false;
  const id = decodeURIComponent(m[1]!);
  const stored = ctx.state.files.get(id);
  if (!stored) {
    // Google says 403, not 404, for files that do not exist or belong to another key.
    googleError(ctx, 403, `You do not have permission to access the File ${id} or it may not exist.`);
  } else if (m[2] && method === 'GET') {
    sendBytes(ctx, 200, String(stored.meta.mimeType), stored.bytes);
  } else if (method === 'GET') {
    sendJson(ctx, 200, stored.meta);
  } else if (method === 'DELETE') {
    ctx.state.files.delete(id);
    sendJson(ctx, 200, {});
  } else return false;
  return true;
}

function cachedContents(ctx: RouteContext): boolean {
  const { method, rest, state } = ctx;
  if (rest === 'cachedContents' && method === 'POST') {
    const body = parseJsonBody(ctx);
    if (body === undefined) {
      googleError(ctx, 400, 'Invalid JSON payload received.');
      return true;
    }
    const id = state.nextId('');
    const cache: Record<string, unknown> = {
      name: `cachedContents/${id}`,
      model: body.model,
      ...(body.displayName !== undefined ? { displayName: body.displayName } : {}),
      createTime: now(),
      updateTime: now(),
      expireTime: inHours(1),
      usageMetadata: { totalTokenCount: fakeTokenCount(body) },
    };
    state.cachedContents.set(id, cache);
    sendJson(ctx, 200, cache);
    return true;
  }
  if (rest === 'cachedContents' && method === 'GET') {
    sendJson(ctx, 200, page(ctx, 'cachedContents', [...state.cachedContents.values()]));
    return true;
  }
  const m = /^cachedContents\/([^/:]+)$/.exec(rest);
  if (!m) return false;
  const cache = state.cachedContents.get(decodeURIComponent(m[1]!));
  if (!cache) googleError(ctx, 403, 'CachedContent not found (or permission denied)');
  else if (method === 'GET') sendJson(ctx, 200, cache);
  else if (method === 'PATCH') sendJson(ctx, 200, Object.assign(cache, { updateTime: now(), expireTime: inHours(2) }));
  else if (method === 'DELETE') {
    state.cachedContents.delete(decodeURIComponent(m[1]!));
    sendJson(ctx, 200, {});
  } else return false;
  return true;
}

const BATCH_TYPE = 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch';

/** `models/{m}:batchGenerateContent` / `:asyncBatchEmbedContent`: a batch owned by this key's project. */
function createBatch(ctx: RouteContext, model: string): void {
  const body = parseJsonBody(ctx);
  if (body === undefined) return googleError(ctx, 400, 'Invalid JSON payload received.');
  // Requests inline, or as JSON lines `{key, request}` in an uploaded file (results then go to a file too).
  const fileName: string | undefined = body?.batch?.inputConfig?.fileName;
  const inputFile = fileName ? ctx.state.files.get(fileName.replace(/^files\//, '')) : undefined;
  if (fileName && !inputFile) return googleError(ctx, 400, `File ${fileName} not found.`);
  const requests: unknown[] = inputFile
    ? inputFile.bytes.toString('utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l))
    : (body?.batch?.inputConfig?.requests?.requests ?? []);
  const id = ctx.state.nextId('');
  const op = {
    name: `batches/${id}`,
    metadata: {
      '@type': BATCH_TYPE,
      model: `models/${model}`,
      displayName: body?.batch?.displayName ?? 'fake-batch',
      createTime: now(),
      updateTime: now(),
      batchStats: { requestCount: String(requests.length), pendingRequestCount: String(requests.length) },
      state: 'BATCH_STATE_PENDING',
      name: `batches/${id}`,
    },
  };
  ctx.state.batches.set(id, { op, requests, polls: 0, toFile: Boolean(inputFile) });
  sendJson(ctx, 200, op);
}

/**
 * The first GETs (batchRunningPolls, default 1) find a batch running; later ones find it final, each
 * completed result carrying usageMetadata. A cancelled or expired batch completed its first half.
 */
function pollBatch(ctx: RouteContext, stored: StoredBatch): Record<string, unknown> {
  stored.polls++;
  const meta = stored.op.metadata as Record<string, unknown>;
  if (!stored.cancelled && stored.polls <= (ctx.opts.batchRunningPolls ?? 1)) return { ...stored.op, metadata: { ...meta, state: 'BATCH_STATE_RUNNING', updateTime: now() } };
  const state = stored.cancelled ? 'CANCELLED' : (ctx.opts.batchFinalState ?? 'SUCCEEDED');
  const done = state === 'SUCCEEDED' ? stored.requests.length : Math.ceil(stored.requests.length / 2);
  const inlined = stored.requests.map((r: any, i) => {
    const tag = stored.toFile ? { key: r?.key ?? String(i) } : { metadata: r?.metadata ?? {} };
    if (i >= done) return { error: { code: 499, message: `The batch was ${state.toLowerCase()} before this request ran.`, status: 'CANCELLED' }, ...tag };
    const prompt = fakeTokenCount(r?.request);
    const usageMetadata = { promptTokenCount: prompt, candidatesTokenCount: 3, totalTokenCount: prompt + 3 };
    const response = { candidates: [{ content: { role: 'model', parts: [{ text: `answer ${i}` }] }, finishReason: 'STOP' }], usageMetadata, modelVersion: 'gemini-2.5-flash' };
    return { response, ...tag };
  });
  const output = stored.toFile ? { responsesFile: resultsFile(ctx, stored, inlined) } : { inlinedResponses: { inlinedResponses: inlined } };
  const n = String(stored.requests.length);
  return {
    name: stored.op.name,
    metadata: { ...meta, state: `BATCH_STATE_${state}`, endTime: now(), updateTime: now(), output, batchStats: { requestCount: n, successfulRequestCount: String(done), failedRequestCount: String(stored.requests.length - done) } },
    done: true,
    response: { '@type': 'type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput', ...output },
  };
}

/** A file-based batch writes its results once, as JSON lines, to a file of this key's project. */
function resultsFile(ctx: RouteContext, stored: StoredBatch, lines: unknown[]): string {
  if (stored.resultsFile) return stored.resultsFile;
  const id = ctx.state.nextId('');
  const bytes = Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const meta = { name: `files/${id}`, mimeType: 'application/jsonl', sizeBytes: String(bytes.length), createTime: now(), updateTime: now(), state: 'ACTIVE', source: 'GENERATED' };
  ctx.state.files.set(id, { meta, bytes });
  stored.resultsFile = `files/${id}`;
  return stored.resultsFile;
}

function batches(ctx: RouteContext): boolean {
  const { method, rest, state } = ctx;
  const create = /^models\/([^/:]+):(batchGenerateContent|asyncBatchEmbedContent)$/.exec(rest);
  if (create && method === 'POST') {
    createBatch(ctx, decodeURIComponent(create[1]!));
    return true;
  }
  if (rest === 'batches' && method === 'GET') {
    sendJson(ctx, 200, page(ctx, 'operations', [...state.batches.values()].map((b) => b.op)));
    return true;
  }
  const m = /^batches\/([^/:]+)(:cancel)?$/.exec(rest);
  if (!m) return false;
  const stored = state.batches.get(decodeURIComponent(m[1]!));
  if (!stored) googleError(ctx, 404, `Batch ${m[1]} not found.`);
  else if (method === 'DELETE') {
    state.batches.delete(decodeURIComponent(m[1]!));
    sendJson(ctx, 200, {});
  } else if (m[2] && method === 'POST') {
    stored.cancelled = true;
    sendJson(ctx, 200, {});
  } else if (method === 'GET' && !m[2]) sendJson(ctx, 200, pollBatch(ctx, stored));
  else return false;
  return true;
}

/**
 * Like Google, a file or cached content from another key's project is a 403: returns the error
 * message for the first such reference in a generate request, or null.
 */
export function foreignReference(ctx: RouteContext, body: unknown): string | null {
  const text = JSON.stringify(body ?? {});
  for (const m of text.matchAll(/"(?:fileUri|file_uri)":"[^"]*?files\/([a-z0-9]+)"/g)) {
    if (!ctx.state.files.has(m[1]!)) return `You do not have permission to access the File ${m[1]} or it may not exist.`;
  }
  const cache = /"cachedContent":"cachedContents\/([^"]+)"/.exec(text);
  if (cache && !ctx.state.cachedContents.has(cache[1]!)) return 'CachedContent not found (or permission denied)';
  return null;
}

/** Returns false when the path is not a files/cachedContents/batches route. */
export function handleResourceRoutes(ctx: RouteContext): boolean {
  return files(ctx) || cachedContents(ctx) || batches(ctx);
}
