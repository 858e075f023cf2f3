import { describe, expect, it } from 'vitest';
import { classify } from '../../src/exchange/classify.js';

describe('classify', () => {
  it.each([
    ['POST', '/v1beta/models/gemini-2.5-flash:generateContent', 'generateContent', 'gemini-2.5-flash', 'v1beta', 'generate'],
    ['POST', '/v1/models/gemini-2.5-pro:streamGenerateContent', 'streamGenerateContent', 'gemini-2.5-pro', 'v1', 'generate'],
    ['POST', '/v1alpha/tunedModels/my-tuned:generateContent', 'generateContent', 'my-tuned', 'v1alpha', 'generate'],
    ['POST', '/v1beta/models/gemini-2.5-flash:countTokens', 'countTokens', 'gemini-2.5-flash', 'v1beta', null],
    ['POST', '/v1beta/models/gemini-embedding-001:embedContent', 'embedContent', 'gemini-embedding-001', 'v1beta', 'generate'],
    ['POST', '/v1beta/models/gemini-embedding-001:batchEmbedContents', 'batchEmbedContents', 'gemini-embedding-001', 'v1beta', 'generate'],
    ['POST', '/v1beta/models/gemini-2.5-flash:batchGenerateContent', 'batches', 'gemini-2.5-flash', 'v1beta', null],
    ['POST', '/v1beta/models/imagen-4:predict', 'predict', 'imagen-4', 'v1beta', 'predict'],
    ['POST', '/v1beta/models/veo-3.0-generate-001:predictLongRunning', 'predictLongRunning', 'veo-3.0-generate-001', 'v1beta', null],
    ['GET', '/v1beta/models/veo-3.0-generate-001/operations/abc', 'models.operations', 'veo-3.0-generate-001', 'v1beta', null],
    ['POST', '/v1beta/interactions', 'interactions.create', null, 'v1beta', 'interactions'],
    ['GET', '/v1beta/interactions/v1_abc', 'interactions.get', null, 'v1beta', 'interactions'],
    ['DELETE', '/v1beta/interactions/v1_abc', 'interactions.delete', null, 'v1beta', null],
    ['POST', '/v1beta/interactions/v1_abc/cancel', 'interactions.cancel', null, 'v1beta', 'interactions'],
    ['GET', '/v1beta/models', 'models', null, 'v1beta', null],
    ['GET', '/v1beta/models/gemini-2.5-flash', 'models', null, 'v1beta', null],
    ['GET', '/v1beta/files/abc', 'files', null, 'v1beta', null],
    ['GET', '/v1beta/files/abc:download', 'files', null, 'v1beta', null],
    ['POST', '/upload/v1beta/files', 'upload', null, 'v1beta', null],
    ['POST', '/v1beta/cachedContents', 'cachedContents', null, 'v1beta', 'cache'],
    ['GET', '/v1beta/cachedContents/c1', 'cachedContents', null, 'v1beta', null],
    ['GET', '/v1beta/batches/b1', 'batches', null, 'v1beta', null],
    ['GET', '/v1beta/operations/o1', 'batches', null, 'v1beta', null],
    ['GET', '/v1beta/somethingNew', 'other', null, 'v1beta', null],
  ])('%s %s → %s', (method, path, endpoint, model, apiVersion, family) => {
    expect(classify(method, path)).toEqual({ endpoint, model, apiVersion, family });
  });

  it.each(['/', '/healthz', '/admin/v1/keys', '/models/x:generateContent', '/beta/models', '/v1beta', '/upload/files'])('%s is not an API path', (path) => {
    expect(classify('GET', path)).toBeNull();
  });
});
