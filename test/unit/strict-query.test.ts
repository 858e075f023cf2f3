import { describe, expect, it } from 'vitest';
import { closestName, unknownQueryMessage } from '../../src/strict-query.js';

describe('unknown query parameters', () => {
  const known = ['tenant', 'project', 'key', 'from', 'to', 'groupBy', 'format', 'limit', 'cursor'];

  it('suggests the known name in another case or separator style, or without an id/slug suffix', () => {
    expect(['projectId', 'project_id', 'PROJECT', 'projectSlug', 'project-ids'].map((n) => closestName(n, known))).toEqual(Array(5).fill('project'));
    expect(closestName('group_by', known)).toBe('groupBy');
    expect(closestName('keyId', known)).toBe('key');
  });

  it('suggests a name one typo away (two for longer names), a swap counting as one', () => {
    expect(closestName('form', known)).toBe('from');
    expect(closestName('limt', known)).toBe('limit');
    expect(closestName('fromat', known)).toBe('format');
    expect(closestName('prjcet', known)).toBe('project');
  });

  it('suggests nothing for a name that resembles none', () => {
    expect(closestName('since', known)).toBeUndefined();
    expect(closestName('page_size', known)).toBeUndefined();
    expect(closestName('x'.repeat(5000), known)).toBeUndefined();
  });

  it('names every unknown parameter and what the route accepts, but never echoes a long name', () => {
    expect(unknownQueryMessage(['projectId', 'zzz'], ['project'])).toBe('Unknown query parameters "projectId" (did you mean "project"?), "zzz". This route accepts: project.');
    // A made-up key of Google's length, built here so that no key-shaped literal is committed.
    const googleShaped = 'AIza' + 'F'.repeat(35);
    expect(unknownQueryMessage([googleShaped], [])).toBe('Unknown query parameter (a name of 39 characters). This route takes no query parameters.');
  });
});
