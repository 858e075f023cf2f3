import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { requestTargetProblem } from '../../src/proxy/request-target.js';

const pathOf = (target: string): string => (target.includes('?') ? target.slice(0, target.indexOf('?')) : target);

// Characters that matter to the URL parser's path normalisation, plus plain ones.
const CHARS = ['a', 'Z', '0', '-', '.', '_', '~', ':', '@', '!', '$', "'", '(', '*', '+', ',', ';', '=', '&', '/', '\\', '%', '2', 'e', 'E', 'f', ' ', '"', '<', '>', '`', '{', '|', '^', '#', '?', '\t', 'é'];

describe('requestTargetProblem', () => {
  it('accepts a target only when the URL parser sees its path unchanged (fast path included)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...CHARS), { maxLength: 24 }), (chars) => {
        const target = `/${chars.join('')}`;
        if (requestTargetProblem(target) !== null) return;
        expect(new URL(target, 'http://gateway.invalid').pathname).toBe(pathOf(target));
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ['/v1beta/models/gemini-2.5-flash:generateContent', null],
    ['/v1beta/models/m:streamGenerateContent?alt=sse&key=abc', null],
    ['/upload/v1beta/files', null],
    ['/v1beta/./models', 'normal form'],
    ['/v1beta/../admin', 'normal form'],
    ['/v1beta/..', 'normal form'],
    ['/v1beta/%2e%2e/admin', 'normal form'],
    ['/v1beta/files/a%252Fb', 'percent-encoding'],
    ['/v1beta\\models', 'normal form'],
    ['//evil.example/v1', 'single "/"'],
  ])('%s → %s', (target, problem) => {
    const got = requestTargetProblem(target);
    if (problem === null) expect(got).toBeNull();
    else expect(got).toContain(problem);
  });
});
