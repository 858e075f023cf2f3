// Helpers for the quota tests: limits through the real admin API, the self-service endpoint, a
// settable clock, and raw requests for byte-level checks.
import type { Clock } from '../../src/clock.js';
import { ADMIN_TOKEN, type Harness } from './harness.js';

export const ADMIN_ENV = { ADMIN_TOKEN };

export interface TestClock extends Clock {
  set(iso: string): void;
  advance(ms: number): void;
}

/** A clock that stands still unless moved; `follow` makes it run with real time from `iso` on. */
export function testClock(iso: string, follow = false): TestClock {
  let base = Date.parse(iso);
  let realBase = Date.now();
  return {
    now: () => (follow ? base + (Date.now() - realBase) : base),
    set(x) {
      base = Date.parse(x);
      realBase = Date.now();
    },
    advance(ms) {
      base += ms;
    },
  };
}

export function putLimits(h: Harness, projectId: string, policy: unknown) {
  return h.admin('PUT', `/admin/v1/projects/${projectId}/limits`, policy);
}

/** PUT that must succeed. */
export async function setLimits(h: Harness, projectId: string, policy: unknown): Promise<void> {
  const res = await putLimits(h, projectId, policy);
  if (res.status !== 200) throw new Error(`PUT limits answered ${res.status}: ${res.text}`);
}

export async function quota(h: Harness, key: string): Promise<any> {
  const res = await fetch(`${h.url}/gateway/v1/quota`, { headers: { 'x-goog-api-key': key } });
  if (res.status !== 200) throw new Error(`GET quota answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** A raw generateContent call (stream: alt=sse) with a maxOutputTokens, for headers and bytes. */
export function generate(h: Harness, key: string, opts: { model?: string; stream?: boolean; maxOutputTokens?: number; signal?: AbortSignal } = {}): Promise<Response> {
  const model = opts.model ?? 'google-text';
  const path = opts.stream ? `streamGenerateContent?alt=sse` : 'generateContent';
  const body: Record<string, unknown> = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
  if (opts.maxOutputTokens !== undefined) body.generationConfig = { maxOutputTokens: opts.maxOutputTokens };
  return fetch(`${h.url}/v1beta/models/${model}:${path}`, {
    method: 'POST',
    headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: opts.signal,
  });
}

/** A gate the fake upstream awaits before a frame: tests release held streams all at once. */
export function latch(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

export async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Sum of metered total_tokens over the usage rows. */
export const meteredTotal = async (h: Harness): Promise<number> => (await h.rows()).reduce((n, r) => n + (r.total_tokens ?? 0), 0);
