import { GoogleGenAI, type LiveServerMessage } from '@google/genai';
import WebSocket from 'ws';
import { startHarness, UPSTREAM_KEY, type Harness, type HarnessOptions } from './harness.js';
import { loadLiveRecording, startFakeLive, type FakeLive, type LiveScript } from './fake-live-upstream.js';

export interface LiveHarness extends Harness {
  live: FakeLive;
  /** ws://… of the gateway's Live path for a version. */
  liveUrl(version?: string, query?: string): string;
}

/** The usual harness plus a fake Live upstream (LIVE_UPSTREAM_BASE_URL) replaying `script`. */
export async function startLiveHarness(script: LiveScript, opts: HarnessOptions = {}): Promise<LiveHarness> {
  let h!: Harness;
  const accepted = new Set([UPSTREAM_KEY, ...(opts.extraUpstreamKeys ?? [])]);
  const live = await startFakeLive({
    upstreamKeys: () => [...accepted],
    // Everything the harness handed out (tenant keys, tokens, admin token…) except the upstream keys.
    forbidden: () => [...(h?.secrets ?? [])].filter((s) => !accepted.has(s)),
    script,
  });
  h = await startHarness({ ...opts, env: { LIVE_UPSTREAM_BASE_URL: live.url, ...opts.env } });
  const close = h.close.bind(h);
  const accept = h.acceptUpstreamKey.bind(h);
  return Object.assign(h, {
    acceptUpstreamKey(secret: string) {
      accepted.add(secret);
      accept(secret);
    },
    live,
    liveUrl: (version = 'v1beta', query = '') => `${h.url.replace(/^http/, 'ws')}/ws/google.ai.generativelanguage.${version}.GenerativeService.BidiGenerateContent${query}`,
    async close() {
      try {
        await close();
      } finally {
        await live.close();
      }
      if (live.violations.length) throw new Error(`fake Live upstream saw violations: ${live.violations.join('; ')}`);
    },
  });
}

export const recording = (name: string): LiveScript => ({ steps: loadLiveRecording(name) });

/** A session opened with the real SDK's ai.live.connect, collecting what its callbacks see. */
export interface SdkSession {
  messages: LiveServerMessage[];
  closed: Promise<{ code: number; reason: string }>;
  session: Awaited<ReturnType<GoogleGenAI['live']['connect']>>;
  /** Resolves once `n` messages arrived. */
  waitFor(n: number): Promise<void>;
}

export async function sdkConnect(ai: GoogleGenAI, model: string, config: Record<string, unknown> = {}): Promise<SdkSession> {
  const messages: LiveServerMessage[] = [];
  let resolveClosed!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (resolveClosed = r));
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const session = await ai.live.connect({
    model,
    config,
    callbacks: {
      onmessage: (m) => {
        messages.push(m);
        for (const w of waiters.filter((x) => messages.length >= x.n)) w.resolve();
      },
      onclose: (e) => resolveClosed({ code: e.code, reason: e.reason }),
      onerror: () => {},
    },
  });
  return {
    messages,
    closed,
    session,
    waitFor: (n) => (messages.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

/** A raw `ws` client: every frame with its type, the close code and reason, or the refused upgrade's status. */
export interface RawClient {
  ws: WebSocket;
  frames: Array<{ data: Buffer; isBinary: boolean }>;
  opened: Promise<void>;
  /** The HTTP status when the upgrade was refused. */
  refused: Promise<{ status: number; body: string }>;
  closed: Promise<{ code: number; reason: string }>;
  waitFrames(n: number): Promise<void>;
}

export function rawConnect(url: string, headers: Record<string, string> = {}): RawClient {
  const ws = new WebSocket(url, { headers, perMessageDeflate: false });
  const frames: RawClient['frames'] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    frames.push({ data, isBinary });
    for (const w of waiters.filter((x) => frames.length >= x.n)) w.resolve();
  });
  ws.on('error', () => {});
  const refused = new Promise<{ status: number; body: string }>((resolve) => {
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
  });
  return {
    ws,
    frames,
    opened: new Promise((r) => ws.once('open', () => r())),
    refused,
    closed: new Promise((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() }))),
    waitFrames: (n) => (frames.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

/** The client frames of a recording, in order (what a client replays). */
export const clientFrames = (script: LiveScript): Buffer[] => script.steps.filter((s) => s.dir === '>').map((s) => s.data);
export const serverFrames = (script: LiveScript): Buffer[] => script.steps.filter((s) => s.dir === '<').map((s) => s.data);
