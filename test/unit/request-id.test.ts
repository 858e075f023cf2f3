import { describe, expect, it } from 'vitest';
import { newRequestId } from '../../src/request-id.js';

describe('request ids', () => {
  it('are UUIDv7: the millisecond time first, version 7, the RFC 9562 variant, random bits after', () => {
    const at = Date.UTC(2026, 11, 2, 17, 0, 0, 123);
    const id = newRequestId(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at);
  });

  it('sort by time as strings (so they land at the end of the request_id index) and never repeat', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => newRequestId(1_800_000_000_000 + Math.floor(i / 10)));
    expect(new Set(ids).size).toBe(ids.length);
    const byMs = ids.filter((_, i) => i % 10 === 0);
    expect([...byMs].sort()).toEqual(byMs);
  });
});
