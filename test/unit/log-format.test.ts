import { describe, expect, it } from 'vitest';
import { createLogger, resolveLogFormat } from '../../src/logger.js';

const UPSTREAM = 'upstream-secret-for-pretty-tests-0123456789';
const ADMIN = 'admin"token\\with-json-escapes-0123';
// Google-shaped, built at run time so no committed line looks like a leaked key to secret scanners.
const GOOGLE = `AIzaSy${'F'.repeat(33)}`;
const GATEWAY = 'ggw_FAKEabcdefghijklmnopqrstuvwxyz0123456789abcd';

function capture(format: 'json' | 'pretty') {
  let text = '';
  const log = createLogger('info', { write: (s: string) => void (text += s) }, [UPSTREAM, ADMIN], format);
  return { log, text: () => text };
}

function logEverySecret(log: ReturnType<typeof createLogger>) {
  log.info({ status: 200, ms: 12, echoed: `upstream said ${UPSTREAM} / ${ADMIN}`, url: `/v1beta/models?key=${GATEWAY}&x=1` }, 'request completed');
  log.warn({ token: ADMIN, headers: { authorization: `Bearer ${ADMIN}` } }, `key ${GOOGLE} refused`);
  log.error({ err: `boom ${GATEWAY}` }, 'failed');
}

describe('log format', () => {
  it('is pretty on a terminal and JSON elsewhere unless LOG_FORMAT says otherwise', () => {
    expect(resolveLogFormat(undefined, true)).toBe('pretty');
    expect(resolveLogFormat(undefined, false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });

  it('pretty lines are readable and scrubbed of every secret, like the JSON ones', () => {
    for (const format of ['json', 'pretty'] as const) {
      const { log, text } = capture(format);
      logEverySecret(log);
      const out = text();
      for (const secret of [UPSTREAM, ADMIN, JSON.stringify(ADMIN).slice(1, -1), GOOGLE, GATEWAY]) expect({ format, leaked: out.includes(secret) }).toEqual({ format, leaked: false });
      expect(out).toContain('[redacted]');
      const lines = out.trim().split('\n');
      if (format === 'json') {
        expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['request completed', 'key [redacted] refused', 'failed']);
      } else {
        expect(() => JSON.parse(lines[0]!)).toThrow();
        expect(lines[0]).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: request completed \{"status":200,"ms":12,/);
        expect(out).toMatch(/WARN: key \[redacted\] refused/);
        expect(out).toMatch(/ERROR: failed/);
      }
    }
  });
});
