// Imagen (:predict) and Veo (:predictLongRunning + its operation) on the fake upstream.
import { googleError, parseJsonBody, sendJson, type RouteContext } from './fake-upstream-http.js';

/** A 1×1 PNG: every fake image. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

export interface StoredVideoOperation {
  model: string;
  samples: number;
  /** GETs left before the operation reports done (Veo takes minutes; the fake takes one poll). */
  pollsLeft: number;
  /** The generated videos, once done: files of this key's project, as Google stores them. */
  files?: string[];
}

const operations = new WeakMap<RouteContext['state'], Map<string, StoredVideoOperation>>();
const opsOf = (ctx: RouteContext) => {
  let m = operations.get(ctx.state);
  if (!m) operations.set(ctx.state, (m = new Map()));
  return m;
};

const sampleCount = (body: any, fallback: number): number => {
  const n = Number(body?.parameters?.sampleCount ?? fallback);
  return Number.isInteger(n) && n > 0 && n <= 8 ? n : fallback;
};

/** POST models/{m}:predict or :predictLongRunning; false for any other verb. */
export function handleMediaMethod(ctx: RouteContext, model: string, verb: string): boolean {
  if (verb !== 'predict' && verb !== 'predictLongRunning') return false;
  const body = parseJsonBody(ctx);
  if (body === undefined || !Array.isArray(body.instances)) {
    googleError(ctx, 400, 'Invalid JSON payload received. instances is required.');
    return true;
  }
  if (verb === 'predict') {
    const predictions = Array.from({ length: sampleCount(body, 4) }, () => ({ bytesBase64Encoded: PNG, mimeType: 'image/png' }));
    sendJson(ctx, 200, { predictions });
    return true;
  }
  const name = `models/${model}/operations/${ctx.state.nextId('op')}`;
  opsOf(ctx).set(name, { model, samples: sampleCount(body, 1), pollsLeft: 1 });
  sendJson(ctx, 200, { name });
  return true;
}

/** GET models/{m}/operations/{id}, or a list of them (models/{m}/operations, operations); false when the path is none of these. */
export function handleVideoOperation(ctx: RouteContext): boolean {
  const list = ctx.method === 'GET' ? /^(?:models\/([^/:]+)\/)?operations$/.exec(ctx.rest) : null;
  if (list) {
    // Upstream lists every operation of the key's project, whoever asked the gateway for it.
    const all = [...opsOf(ctx)].filter(([, op]) => list[1] === undefined || op.model === list[1]).map(([name]) => ({ name }));
    sendJson(ctx, 200, all.length ? { operations: all } : {});
    return true;
  }
  if (ctx.method !== 'GET' || !/^models\/[^/:]+\/operations\/[^/:]+$/.test(ctx.rest)) return false;
  const op = opsOf(ctx).get(ctx.rest);
  if (!op) {
    googleError(ctx, 404, 'Requested entity was not found.');
    return true;
  }
  if (op.pollsLeft > 0) {
    op.pollsLeft--;
    sendJson(ctx, 200, { name: ctx.rest });
    return true;
  }
  op.files ??= Array.from({ length: op.samples }, () => {
    const id = ctx.state.nextId('');
    const bytes = Buffer.from(`fake mp4 ${id}`);
    ctx.state.files.set(id, { meta: { name: `files/${id}`, mimeType: 'video/mp4', sizeBytes: String(bytes.length), state: 'ACTIVE', source: 'GENERATED' }, bytes });
    return id;
  });
  // Google's own host, as the real answer has it: the SDK keeps only the file id and downloads through its baseUrl.
  const generatedSamples = op.files.map((id) => ({ video: { uri: `https://generativelanguage.googleapis.com/v1beta/files/${id}:download?alt=media` } }));
  sendJson(ctx, 200, { name: ctx.rest, done: true, response: { '@type': 'type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse', generateVideoResponse: { generatedSamples } } });
  return true;
}
