// models/* and interactions/* routes of the fake upstream.
import {
  fakeTokenCount,
  findInteractionById,
  fixtureExists,
  generateUnaryText,
  interactionDoneFrame,
  interactionFrame,
  interactionUnaryText,
  jsonArrayFrames,
  loadErrorText,
  loadGenerateChunks,
  loadInteractionChunks,
  loadRecording,
  sseDataFrame,
} from './fixtures.js';
import {
  JSON_TYPE,
  googleError,
  interactionError,
  parseJsonBody,
  sendBytes,
  sendJson,
  streamFrames,
  type RouteContext,
} from './fake-upstream-http.js';
import { foreignReference } from './fake-upstream-resources.js';
import { handleMediaMethod, handleVideoOperation } from './fake-upstream-media.js';
import { mulberry32 } from './sse-writer.js';

const IMAGE_OUTPUT = 'Client_Tests_generateContentStream_ML_Dev_should_stream_generate_content_with_image_output';
const STREAM_ERROR = 'Chats_Tests_sendMessage_Send_message_stream_with_error';
const COUNT_TOKENS = 'Client_Tests_countTokens_ML_Dev_should_count_tokens_with_specified_parameters';

const firstSegment = (recording: string): any => loadRecording(recording).interactions[0]!.response.bodySegments[0];

export const KNOWN_MODELS = ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-2.0-flash', 'gemini-embedding-001'];

function modelInfo(id: string): Record<string, unknown> {
  const embedding = id.includes('embedding');
  return {
    name: `models/${id}`,
    version: '001',
    displayName: id.replace(/-/g, ' '),
    description: `Fake upstream stand-in for ${id}.`,
    inputTokenLimit: embedding ? 2048 : 1048576,
    outputTokenLimit: embedding ? 1 : 65536,
    supportedGenerationMethods: embedding
      ? ['embedContent', 'countTextTokens', 'countTokens']
      : ['generateContent', 'countTokens', 'createCachedContent', 'batchGenerateContent'],
    ...(embedding ? {} : { temperature: 1, topP: 0.95, topK: 64, maxTemperature: 2, thinking: true }),
  };
}

function embedding(request: unknown): { values: number[] } {
  const text = JSON.stringify(request ?? null);
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  const rng = mulberry32(h);
  return { values: Array.from({ length: 8 }, () => Math.round((rng() * 2 - 1) * 1e6) / 1e6) };
}

async function modelMethod(ctx: RouteContext, model: string, verb: string): Promise<void> {
  const body = parseJsonBody(ctx);
  if (body === undefined) return googleError(ctx, 400, 'Invalid JSON payload received.');
  const eol = ctx.opts.eol ?? '\r\n';
  const sse = ctx.url.searchParams.get('alt') === 'sse';
  const streaming = verb === 'streamGenerateContent';
  if (verb === 'generateContent' || streaming) {
    const foreign = foreignReference(ctx, body);
    if (foreign) return googleError(ctx, 403, foreign);
    if (model === 'rate-limited') return sendJson(ctx, 429, loadErrorText('google-429-retry-info'));
    if (model === 'stream-error') {
      // Google answers this one pretty-printed with a trailing newline, even under text/event-stream.
      const text = JSON.stringify(firstSegment(STREAM_ERROR), null, 2) + '\n';
      return sendBytes(ctx, 404, streaming && sse ? 'text/event-stream' : JSON_TYPE, Buffer.from(text));
    }
    if (!streaming) {
      const name = fixtureExists('generate', `${model}.json`) ? model : 'google-text';
      return sendJson(ctx, 200, generateUnaryText(name));
    }
    let payloads: string[];
    if (model === 'image-output') {
      payloads = loadRecording(IMAGE_OUTPUT).interactions[0]!.response.bodySegments.map((s) => JSON.stringify(s));
    } else {
      payloads = loadGenerateChunks(fixtureExists('generate', `${model}.chunks.txt`) ? model : 'google-text');
    }
    const frames = sse ? payloads.map((p) => sseDataFrame(p, eol)) : jsonArrayFrames(payloads);
    return streamFrames(ctx, 200, sse ? 'text/event-stream' : JSON_TYPE, frames);
  }
  if (verb === 'countTokens') return sendJson(ctx, 200, firstSegment(COUNT_TOKENS));
  const usage = (n: number) => (model === 'embed-with-usage' ? { usageMetadata: { promptTokenCount: n, totalTokenCount: n } } : {});
  if (verb === 'embedContent') {
    return sendJson(ctx, 200, { embedding: embedding(body.content), ...usage(fakeTokenCount(body)) });
  }
  if (verb === 'batchEmbedContents') {
    const requests: unknown[] = Array.isArray(body.requests) ? body.requests : [];
    const tokens = requests.reduce<number>((sum, r) => sum + fakeTokenCount(r), 0);
    return sendJson(ctx, 200, { embeddings: requests.map((r: any) => embedding(r?.content)), ...usage(tokens) });
  }
  return googleError(ctx, 404, `Method ${verb} is not supported by the fake upstream.`);
}

function interactionStreamFrames(name: string, eol: '\r\n' | '\n'): string[] {
  const payloads = fixtureExists('interactions', `${name}.chunks.txt`)
    ? loadInteractionChunks(name)
    : (() => {
        // No streamed recording (e.g. structured-output): synthesise the two bookend events.
        const interaction = JSON.parse(interactionUnaryText(name)) as Record<string, unknown>;
        const created = { interaction: { ...interaction, status: 'in_progress', steps: undefined, usage: undefined } };
        return [
          JSON.stringify({ ...created, event_type: 'interaction.created' }),
          JSON.stringify({ interaction, event_type: 'interaction.completed' }),
        ];
      })();
  return [...payloads.map((p) => interactionFrame(p, eol)), interactionDoneFrame(eol)];
}

const SSE = 'text/event-stream';

async function createInteraction(ctx: RouteContext): Promise<void> {
  const body = parseJsonBody(ctx);
  if (body === undefined || typeof body !== 'object') {
    return interactionError(ctx, 400, 'invalid_request', 'Request body is not valid JSON.');
  }
  const model = String(body.model ?? body.agent ?? '');
  if (model === 'rate-limited') {
    return interactionError(ctx, 429, 'resource_exhausted', 'Resource has been exhausted (e.g. check quota).', {
      'retry-after': '1',
    });
  }
  const q = ctx.url.searchParams;
  const stream = body.stream === true || q.get('stream') === 'true' || q.get('alt') === 'sse';
  if (stream) {
    const recorded = ['chunks.txt', 'json'].some((ext) => fixtureExists('interactions', `${model}.${ext}`));
    const name = recorded ? model : 'basic';
    return streamFrames(ctx, 200, SSE, interactionStreamFrames(name, ctx.opts.eol ?? '\r\n'));
  }
  const name = fixtureExists('interactions', `${model}.json`) ? model : 'basic';
  return sendJson(ctx, 200, interactionUnaryText(name));
}

function unaryInteraction(name: string, hasJson: boolean): string | object {
  if (hasJson) return interactionUnaryText(name);
  // Only a streamed recording carries this id: its completed event is the closest thing to a GET.
  for (const line of loadInteractionChunks(name)) {
    const ev = JSON.parse(line) as { event_type?: string; interaction?: object };
    if (ev.event_type === 'interaction.completed' && ev.interaction) return ev.interaction;
  }
  return {};
}

async function interactionById(ctx: RouteContext, id: string, action: string | undefined): Promise<void> {
  if (ctx.method === 'DELETE' && !action) return sendJson(ctx, 200, {});
  const found = findInteractionById(id);
  if (!found) return interactionError(ctx, 404, 'not_found', `Interaction ${id} not found.`);
  if (ctx.method === 'POST' && action === 'cancel') return sendJson(ctx, 200, unaryInteraction(found.name, found.hasJson));
  if (ctx.method !== 'GET' || action) return interactionError(ctx, 404, 'not_found', 'Method not found.');
  const q = ctx.url.searchParams;
  if (q.get('stream') === 'true' || q.get('alt') === 'sse') {
    return streamFrames(ctx, 200, SSE, interactionStreamFrames(found.name, ctx.opts.eol ?? '\r\n'));
  }
  return sendJson(ctx, 200, unaryInteraction(found.name, found.hasJson));
}

/** Returns false when the path is not a models/ or interactions/ route. */
export async function handleModelRoutes(ctx: RouteContext): Promise<boolean> {
  const { method, rest } = ctx;
  if (rest === 'models' && method === 'GET') {
    sendJson(ctx, 200, { models: KNOWN_MODELS.map(modelInfo) });
    return true;
  }
  const call = /^(?:models|tunedModels)\/([^/:]+):([A-Za-z]+)$/.exec(rest);
  if (call && method === 'POST') {
    if (handleMediaMethod(ctx, decodeURIComponent(call[1]!), call[2]!)) return true;
    await modelMethod(ctx, decodeURIComponent(call[1]!), call[2]!);
    return true;
  }
  if (handleVideoOperation(ctx)) return true;
  const one = /^models\/([^/:]+)$/.exec(rest);
  if (one && method === 'GET') {
    const id = decodeURIComponent(one[1]!);
    if (KNOWN_MODELS.includes(id)) sendJson(ctx, 200, modelInfo(id));
    else googleError(ctx, 404, `models/${id} is not found for API version ${ctx.version}.`);
    return true;
  }
  if (rest === 'interactions' && method === 'POST') {
    await createInteraction(ctx);
    return true;
  }
  const inter = /^interactions\/([^/]+)(?:\/([a-z]+))?$/.exec(rest);
  if (inter) {
    await interactionById(ctx, decodeURIComponent(inter[1]!), inter[2]);
    return true;
  }
  return false;
}
