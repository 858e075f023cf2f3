import { describe, expect, it } from 'vitest';
import { planSegments } from '../../src/usage/aggregate.js';
import { LATENCY_BOUNDS_MS } from '../../src/db/schema/latency-buckets.js';
import { bucketOf, percentile } from '../../src/usage/histogram.js';
import { ceilTo, floorTo, formatBucket, parseIsoInstant } from '../../src/calendar.js';

const t = (s: string) => Date.parse(s);

describe('ISO 8601 parsing', () => {
  it.each([
    ['2025-06-01', '2025-06-01T00:00:00.000Z'],
    ['2025-06-01T13:00:00Z', '2025-06-01T13:00:00.000Z'],
    ['2025-06-01T13:00Z', '2025-06-01T13:00:00.000Z'],
    ['2025-06-01T13:00:00', '2025-06-01T13:00:00.000Z'],
    ['2025-06-01T15:00:00+02:00', '2025-06-01T13:00:00.000Z'],
    ['2025-06-01T15:00:00.250+0200', '2025-06-01T13:00:00.250Z'],
  ])('reads %s as %s (no offset means UTC)', (input, want) => {
    expect(new Date(parseIsoInstant(input)!).toISOString()).toBe(want);
  });

  it.each(['yesterday', 'June 1 2025', '2025-02-30', '2025-13-01', '2025-06-01T24:00:00Z', '2025-6-1', '1717200000000', ''])('refuses %j', (input) => {
    expect(parseIsoInstant(input)).toBeNull();
  });
});

describe('UTC buckets', () => {
  it('floors and ceils to hours, days and calendar months', () => {
    const x = t('2024-02-29T13:45:10Z');
    expect(new Date(floorTo('hour', x)).toISOString()).toBe('2024-02-29T13:00:00.000Z');
    expect(new Date(floorTo('day', x)).toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(new Date(floorTo('month', x)).toISOString()).toBe('2024-02-01T00:00:00.000Z');
    expect(new Date(ceilTo('month', x)).toISOString()).toBe('2024-03-01T00:00:00.000Z');
    expect(ceilTo('day', t('2024-03-01T00:00:00Z'))).toBe(t('2024-03-01T00:00:00Z'));
    expect([formatBucket('hour', x), formatBucket('day', x), formatBucket('month', x)]).toEqual(['2024-02-29T13:45:10.000Z', '2024-02-29', '2024-02']);
  });

  it('covers a range with the coarsest rollups that fit, without gaps or overlaps', () => {
    const segs = planSegments(t('2025-01-30T22:00Z'), t('2025-04-02T03:00Z'), ['m', 'd', 'h']);
    expect(segs.map((s) => [s.grain, new Date(s.from).toISOString().slice(0, 13), new Date(s.to).toISOString().slice(0, 13)])).toEqual([
      ['h', '2025-01-30T22', '2025-01-31T00'],
      ['d', '2025-01-31T00', '2025-02-01T00'],
      ['m', '2025-02-01T00', '2025-04-01T00'],
      ['d', '2025-04-01T00', '2025-04-02T00'],
      ['h', '2025-04-02T00', '2025-04-02T03'],
    ]);
    expect(planSegments(t('2025-01-30T22:00Z'), t('2025-01-31T03:00Z'), ['d', 'h']).map((s) => s.grain)).toEqual(['h']);
    expect(planSegments(t('2025-01-01'), t('2025-01-01'), ['m', 'd', 'h'])).toEqual([]);
  });
});

describe('latency histogram', () => {
  it('puts a value in the first bucket whose bound it does not exceed', () => {
    expect([bucketOf(0), bucketOf(5), bucketOf(6), bucketOf(100), bucketOf(101), bucketOf(300_000), bucketOf(300_001)]).toEqual([0, 0, 1, 5, 6, 22, 23]);
    expect(LATENCY_BOUNDS_MS.length).toBe(23);
  });

  it('interpolates percentiles inside the bucket and caps by the observed maximum', () => {
    const counts = new Array(24).fill(0);
    counts[bucketOf(30)] = 1; // (25, 50]
    counts[bucketOf(120)] = 1; // (100, 150]
    counts[bucketOf(900)] = 1; // (750, 1000]
    // rank 1.5 lies halfway into (100, 150]; rank 2.85 is 85% into (750, 900], 900 being the max seen.
    expect(percentile(counts, 0.5, 900)).toBe(125);
    expect(percentile(counts, 0.95, 900)).toBe(878);
    expect(percentile(new Array(24).fill(0), 0.5, 0)).toBeNull();
    const overflow = new Array(24).fill(0);
    overflow[23] = 2;
    expect(percentile(overflow, 0.5, 400_000)).toBe(350_000);
  });
});
