import { describe, expect, it } from 'vitest';
import { secondsUntilReset, windowEnd, windowSeconds, windowStart } from '../../src/quota/windows.js';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('quota windows (fixed, UTC)', () => {
  it('minute windows start on the UTC minute and last 60 s', () => {
    expect(iso(windowStart('minute', t('2026-03-14T15:09:26.535Z')))).toBe('2026-03-14T15:09:00.000Z');
    expect(iso(windowEnd('minute', t('2026-03-14T15:09:26.535Z')))).toBe('2026-03-14T15:10:00.000Z');
    expect(iso(windowStart('minute', t('2026-03-14T15:09:00.000Z')))).toBe('2026-03-14T15:09:00.000Z');
    expect(iso(windowStart('minute', t('2026-03-14T15:09:59.999Z')))).toBe('2026-03-14T15:09:00.000Z');
    expect(windowSeconds('minute', t('2026-03-14T15:09:26Z'))).toBe(60);
  });

  it('day windows are UTC calendar days, whatever the local time zone', () => {
    expect(iso(windowStart('day', t('2026-03-14T23:59:59.999Z')))).toBe('2026-03-14T00:00:00.000Z');
    expect(iso(windowStart('day', t('2026-03-15T00:00:00.000Z')))).toBe('2026-03-15T00:00:00.000Z');
    expect(iso(windowEnd('day', t('2026-03-14T12:00:00+09:00')))).toBe('2026-03-15T00:00:00.000Z');
    // Around a DST change in most of Europe/US the UTC day is still 24 h.
    expect(windowSeconds('day', t('2026-03-29T01:30:00Z'))).toBe(86_400);
  });

  it('month windows follow the calendar: 28, 29, 30 and 31 days, across a year end', () => {
    expect(iso(windowStart('month', t('2026-02-28T23:59:59.999Z')))).toBe('2026-02-01T00:00:00.000Z');
    expect(iso(windowEnd('month', t('2026-02-10T00:00:00Z')))).toBe('2026-03-01T00:00:00.000Z');
    expect(windowSeconds('month', t('2026-02-10T00:00:00Z'))).toBe(28 * 86_400);
    expect(windowSeconds('month', t('2028-02-10T00:00:00Z'))).toBe(29 * 86_400);
    expect(windowSeconds('month', t('2026-04-10T00:00:00Z'))).toBe(30 * 86_400);
    expect(iso(windowStart('month', t('2026-12-31T23:59:59.999Z')))).toBe('2026-12-01T00:00:00.000Z');
    expect(iso(windowEnd('month', t('2026-12-31T23:59:59.999Z')))).toBe('2027-01-01T00:00:00.000Z');
    expect(iso(windowStart('month', t('2027-01-01T00:00:00.000Z')))).toBe('2027-01-01T00:00:00.000Z');
  });

  it('Retry-After counts whole seconds up to the reset and is never 0', () => {
    expect(secondsUntilReset('minute', t('2026-03-14T15:09:58.500Z'))).toBe(2);
    expect(secondsUntilReset('minute', t('2026-03-14T15:09:00.000Z'))).toBe(60);
    expect(secondsUntilReset('minute', t('2026-03-14T15:09:59.999Z'))).toBe(1);
    expect(secondsUntilReset('day', t('2026-03-14T23:00:00Z'))).toBe(3600);
    expect(secondsUntilReset('month', t('2026-12-31T23:59:30Z'))).toBe(30);
  });
});
