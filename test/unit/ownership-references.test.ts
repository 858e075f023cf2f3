import { describe, expect, it } from 'vitest';
import { createdResources } from '../../src/ownership/created.js';
import { ambiguousPath, bodyResources, fileFromUri, mayReference, pathResource } from '../../src/ownership/references.js';
import { rewriteUploadUrl, uploadIdOf } from '../../src/ownership/upload-url.js';

describe('resource references in requests', () => {
  it.each([
    ['files/abc', 'files/abc'],
    ['files/abc:download', 'files/abc'],
    ['files%2Fabc', 'files/abc'],
    ['cachedContents/c1', 'cachedContents/c1'],
    ['batches/b1:cancel', 'batches/b1'],
    ['batches/b1/operations/o', 'batches/b1'],
    ['interactions/v1_x/cancel', 'interactions/v1_x'],
    ['models/gemini-2.5-flash:generateContent', null],
    ['files', null],
  ])('path %s names %s', (rest, name) => {
    expect(pathResource(rest, '', false)).toBe(name);
  });

  it('binds upload chunks by their upload_id', () => {
    expect(pathResource('files', '?upload_id=u1&upload_protocol=resumable', true)).toBe('uploads/u1');
    expect(pathResource('files', '', true)).toBeNull();
  });

  it.each(['files/./abc', 'files/../files/abc', 'files//abc', 'files/%2e%2e/x'])('refuses ambiguous path %s', (rest) => {
    expect(ambiguousPath(rest)).toBe(true);
  });

  it('finds every kind of body reference, nested anywhere', () => {
    const body = {
      contents: [{ parts: [{ fileData: { fileUri: 'https://generativelanguage.googleapis.com/v1beta/files/f1' } }, { file_data: { file_uri: 'files/f2' } }] }],
      cachedContent: 'cachedContents/c1',
      previous_interaction_id: 'v1_prev',
      input: [{ type: 'image', uri: 'http://gateway.internal/gw/v1beta/files/f3' }, { type: 'document', uri: 'gs://bucket/doc.pdf' }],
      batch: { inputConfig: { fileName: 'files/f4' } },
      tools: [{ url: 'https://example.com/v1/files/not-a-file-field' }],
    };
    expect(bodyResources(body).sort()).toEqual(['cachedContents/c1', 'files/f1', 'files/f2', 'files/f3', 'files/f4', 'interactions/v1_prev']);
  });

  it('does not mistake other URIs for Gemini files', () => {
    expect(fileFromUri('https://www.youtube.com/watch?v=x')).toBeNull();
    expect(fileFromUri('gs://bucket/files/x')).toBeNull();
    expect(fileFromUri('http://generativelanguage.googleapis.com:443/v1alpha/files/z')).toBe('files/z');
  });

  it('parses a body only when it may reference something, JSON escapes included', () => {
    expect(mayReference(Buffer.from('{"contents":[{"parts":[{"text":"hello"}]}]}'))).toBe(false);
    expect(mayReference(Buffer.from('{"fileData":{"fileUri":"files/x"}}'))).toBe(true);
    expect(mayReference(Buffer.from('{"\\u0066ileData":{"\\u0066ileUri":"\\u0066iles/x"}}'))).toBe(true);
    expect(bodyResources(JSON.parse('{"\\u0066ileData":{"\\u0066ileUri":"\\u0066iles/x"}}'))).toEqual(['files/x']);
  });
});

describe('resources created by responses', () => {
  it.each([
    ['upload', { file: { name: 'files/a1', uri: 'https://x/v1beta/files/a1' } }, ['files/a1']],
    ['files', { files: [{ name: 'files/r1' }, { name: 'files/r2' }] }, ['files/r1', 'files/r2']],
    ['cachedContents', { name: 'cachedContents/c1', usageMetadata: { totalTokenCount: 3 } }, ['cachedContents/c1']],
    ['batches', { name: 'batches/b1', metadata: {} }, ['batches/b1']],
    ['interactions.create', { id: 'v1_i', status: 'completed' }, ['interactions/v1_i']],
    ['interactions.create', { interaction: { id: 'v1_s' }, event_type: 'interaction.created' }, ['interactions/v1_s']],
    ['interactions.create', { id: '', status: 'completed' }, []],
    ['cachedContents', { name: 'models/evil' }, []],
  ] as const)('%s answer %j creates %j', (endpoint, head, names) => {
    expect(createdResources(endpoint, 'POST', head)).toEqual(names);
  });

  it('GET answers create nothing', () => {
    expect(createdResources('files', 'GET', { name: 'files/a' })).toEqual([]);
  });
});

describe('upload URLs', () => {
  const google = 'https://generativelanguage.googleapis.com/upload/v1beta/files?upload_id=U1&upload_protocol=resumable';
  it('moves the URL onto PUBLIC_BASE_URL, keeping its path prefix, the path and the query', () => {
    expect(rewriteUploadUrl(google, 'https://ai.example.com/gemini', '')).toBe('https://ai.example.com/gemini/upload/v1beta/files?upload_id=U1&upload_protocol=resumable');
    expect(rewriteUploadUrl(google, 'http://127.0.0.1:8787', '')).toBe('http://127.0.0.1:8787/upload/v1beta/files?upload_id=U1&upload_protocol=resumable');
  });
  it('drops the path prefix of an upstream behind an egress proxy', () => {
    expect(rewriteUploadUrl('http://egress/google/upload/v1beta/files?upload_id=U2', 'https://gw', '/google')).toBe('https://gw/upload/v1beta/files?upload_id=U2');
  });
  it('reads the upload id', () => {
    expect(uploadIdOf(google)).toBe('U1');
  });
});
