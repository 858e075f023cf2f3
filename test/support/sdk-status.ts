import type { Harness } from './harness.js';

/** Resolves to the HTTP status an SDK call failed with (ApiError, or the interactions client's errors), or 200. */
export const statusOf = (p: Promise<unknown>): Promise<number> =>
  p.then(
    () => 200,
    (e: unknown) => (typeof (e as { status?: unknown }).status === 'number' ? (e as { status: number }).status : Promise.reject(e)),
  );

/** Upstream requests whose URL contains `part` (the fake only ever hears from the gateway). */
export const upstreamCalls = (h: Harness, part: string) => h.fake.requests.filter((r) => r.url.includes(part));
