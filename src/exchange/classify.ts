import type { UsageFamily } from '../metering/usage.js';
import { safeDecode } from '../values.js';

export type Endpoint =
  | 'generateContent' | 'streamGenerateContent' | 'countTokens' | 'embedContent' | 'batchEmbedContents'
  | 'interactions.create' | 'interactions.get' | 'interactions.delete' | 'interactions.cancel'
  | 'files' | 'upload' | 'cachedContents' | 'batches' | 'models' | 'other'
  // Imagen (`:predict`), Veo (`:predictLongRunning`) and the Veo operation it returns (`models/{m}/operations/{id}`).
  | 'predict' | 'predictLongRunning' | 'models.operations'
  | 'fileSearchStores' | 'tunedModels'
  // The Live API (src/live/): a WebSocket session's turns, and the ephemeral tokens that open one.
  | 'live' | 'auth_tokens';

export interface Classified {
  apiVersion: string;
  endpoint: Endpoint;
  /** From the path (`models/{m}:…`); interactions name theirs in the body. */
  model: string | null;
  /** Where usage lives in the response, or null when the endpoint reports none. */
  family: UsageFamily | null;
}

const VERSIONED = /^\/(?:(upload)\/)?(v\d+[a-z0-9]*)\/(.*)$/;
const MODEL_METHOD = /^(?:models|tunedModels)\/([^/:]+):([A-Za-z]+)$/;
const INTERACTION = /^interactions\/([^/:]+)(?:\/cancel|:cancel)?$/;

const METHOD_ENDPOINT: Record<string, Endpoint> = {
  generateContent: 'generateContent',
  streamGenerateContent: 'streamGenerateContent',
  countTokens: 'countTokens',
  embedContent: 'embedContent',
  batchEmbedContents: 'batchEmbedContents',
  batchGenerateContent: 'batches',
  asyncBatchEmbedContent: 'batches',
  predict: 'predict',
  predictLongRunning: 'predictLongRunning',
};
const MODEL_OPERATION = /^models\/([^/:]+)\/operations\/[^/:]+$/;

const FAMILY: Partial<Record<Endpoint, UsageFamily>> = {
  generateContent: 'generate',
  streamGenerateContent: 'generate',
  embedContent: 'generate',
  batchEmbedContents: 'generate',
  'interactions.create': 'interactions',
  'interactions.get': 'interactions',
  'interactions.cancel': 'interactions',
  predict: 'predict',
};

/**
 * Pure: method + raw path (no query) → what is being called. Returns null for anything that is not
 * a versioned Gemini API path; such requests are never forwarded.
 */
export function classify(method: string, path: string): Classified | null {
  const m = VERSIONED.exec(path);
  if (!m) return null;
  const [, upload, apiVersion, rest] = m as unknown as [string, string | undefined, string, string];
  const done = (endpoint: Endpoint, model: string | null = null): Classified => ({
    apiVersion,
    endpoint,
    model,
    family: FAMILY[endpoint] ?? null,
  });
  if (upload) return done('upload');
  const mm = MODEL_METHOD.exec(rest);
  if (mm) return done(METHOD_ENDPOINT[mm[2]!] ?? 'other', safeDecode(mm[1]!));
  if (rest === 'models' || /^models\/[^/:]+$/.test(rest)) return done('models');
  const op = MODEL_OPERATION.exec(rest);
  if (op) return done('models.operations', safeDecode(op[1]!));
  if (rest === 'interactions') return done(method === 'POST' ? 'interactions.create' : 'other');
  const im = INTERACTION.exec(rest);
  if (im) {
    if (rest.endsWith('cancel')) return done(method === 'POST' ? 'interactions.cancel' : 'other');
    if (method === 'GET') return done('interactions.get');
    if (method === 'DELETE') return done('interactions.delete');
    return done('other');
  }
  const head = rest.split('/', 1)[0]!.split(':', 1)[0]!;
  if (head === 'files') return done('files');
  if (head === 'fileSearchStores') return done('fileSearchStores');
  if (head === 'tunedModels') return done('tunedModels');
  // Only creation reports usage worth metering; GET/PATCH echo the same usageMetadata back.
  if (head === 'cachedContents') return { ...done('cachedContents'), family: method === 'POST' && rest === 'cachedContents' ? 'cache' : null };
  if (head === 'batches' || head === 'operations') return done('batches');
  return done('other');
}
