import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startHarness, type Harness } from '../support/harness.js';

/** What a browser is told may run on the two pages the gateway serves to people. */
describe('the HTML pages\' security headers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { ADMIN_TOKEN } });
  });
  afterAll(async () => h.close());

  const directives = (csp: string | null) => new Map((csp ?? '').split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v.join(' ')]));

  for (const path of ['/dashboard/', '/admin/docs']) {
    it(`${path}: an injected <base> or plugin cannot take over, and no other site may frame it`, async () => {
      const res = await fetch(`${h.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      const csp = directives(res.headers.get('content-security-policy'));
      // A <base> slipped into the page would resolve every relative script and API URL against another origin.
      expect(csp.get('base-uri')).toBe("'none'");
      expect(csp.get('object-src')).toBe("'none'");
      expect(csp.get('frame-ancestors')).toBe("'none'");
      expect(csp.get('default-src')).toBe("'self'");
    });
  }
});
