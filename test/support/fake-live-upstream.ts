// A WebSocket server on 127.0.0.1 that impersonates Google's Live endpoint by replaying recorded
// sessions (test/fixtures/gemini/live/*.websocket.log, from googleapis/js-genai's system tests),
// and polices what reaches it: the upstream key in x-goog-api-key, never a tenant key or token.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { FIXTURES_DIR } from './fixtures.js';

export interface LiveStep {
  /** `>` the client sends this, `<` the server sends it (as a binary frame, like Google). */
  dir: '>' | '<';
  data: Buffer;
}

/** Parses js-genai's recording format: `<dir><N> <N bytes: payload + '\n'>`, one after another. */
export function loadLiveRecording(name: string): LiveStep[] {
  const buf = readFileSync(path.join(FIXTURES_DIR, 'live', `${name}.websocket.log`));
  const out: LiveStep[] = [];
  let i = 0;
  while (i < buf.length) {
    const dir = String.fromCharCode(buf[i]!) as '>' | '<';
    const space = buf.indexOf(0x20, i);
    const n = Number(buf.subarray(i + 1, space).toString('latin1'));
    out.push({ dir, data: buf.subarray(space + 1, space + n) });
    i = space + 1 + n;
    while (buf[i] === 0x0a) i++;
  }
  return out;
}

export interface LiveScript {
  steps: LiveStep[];
  /** After the last step: close with this code and reason (default: keep the socket open). */
  closeWith?: { code: number; reason: string };
}

export interface FakeLiveSession {
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Client frames as received, in order. */
  received: Array<{ data: Buffer; isBinary: boolean }>;
  closed: Promise<{ code: number; reason: string }>;
  socket: WebSocket;
}

export interface FakeLive {
  url: string;
  sessions: FakeLiveSession[];
  /** Rejected handshakes (wrong or missing key): the status answered. */
  refused: number[];
  violations: string[];
  /** The script for the next sessions. */
  script: LiveScript;
  close(): Promise<void>;
}

export async function startFakeLive(opts: { upstreamKeys: () => string[]; forbidden: () => string[]; script: LiveScript }): Promise<FakeLive> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  const fake: FakeLive = { url: '', sessions: [], refused: [], violations: [], script: opts.script, close: async () => {} };

  server.on('upgrade', (req, socket, head) => {
    const url = req.url ?? '';
    const seen = [url, decodeURIComponent(url), ...req.rawHeaders];
    if (opts.forbidden().some((s) => seen.some((t) => t.includes(s)))) fake.violations.push(`a tenant secret reached upstream in the upgrade of ${url.slice(0, 60)}`);
    // Like Google: the key in the header (the gateway) or in ?key= (the SDK connecting directly).
    const key = req.headers['x-goog-api-key'] ?? new URLSearchParams(url.split('?')[1] ?? '').get('key');
    if (typeof key !== 'string' || !opts.upstreamKeys().includes(key)) {
      const status = 401;
      fake.refused.push(status);
      socket.end(`HTTP/1.1 ${status} Unauthorized\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"error":{"code":401,"message":"API key not valid.","status":"UNAUTHENTICATED"}}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => replay(ws, req, fake.script));
  });

  function replay(ws: WebSocket, req: http.IncomingMessage, script: LiveScript): void {
    let resolveClosed!: (v: { code: number; reason: string }) => void;
    const session: FakeLiveSession = { url: req.url ?? '', headers: req.headers, received: [], closed: new Promise((r) => (resolveClosed = r)), socket: ws };
    fake.sessions.push(session);
    ws.on('close', (code, reason) => resolveClosed({ code, reason: reason.toString() }));
    ws.on('error', () => {});
    let at = 0;
    const advance = () => {
      while (at < script.steps.length && script.steps[at]!.dir === '<') ws.send(script.steps[at++]!.data, { binary: true });
      if (at === script.steps.length && script.closeWith) ws.close(script.closeWith.code, script.closeWith.reason);
    };
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      session.received.push({ data, isBinary });
      const text = data.toString('utf8');
      if (opts.forbidden().some((s) => text.includes(s))) fake.violations.push('a tenant secret was relayed upstream in a message');
      if (at < script.steps.length && script.steps[at]!.dir === '>') at++;
      advance();
    });
    advance();
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return fake;
}
