// SSE load: opens C concurrent streamGenerateContent?alt=sse streams and records, per stream, time to
// headers, time to first frame, inter-frame gaps, and whether the bytes match what the mock sent.
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Pool } from 'undici';
import { SSE_PATH, UNARY_PATH, requestBody, sseFrames } from './payloads.js';
import { Samples, summarize, type Summary } from './stats.js';

export interface SseOptions {
  baseUrl: string;
  key: string;
  streams: number;
  frames: number; // what the mock is configured to send
  delayMs: number;
  seedPrefix: string; // unique per round so streams can't be confused across rounds
  /** Open the C connections first (C concurrent unary requests) so TTFF excludes TCP accept bursts. */
  prewarm: boolean;
}

export interface SseResult {
  streams: number;
  ok: number; // 200 + every frame byte-identical
  failed: number; // transport error or non-200
  prewarmOk: number; // 200 unary requests sent to open connections (they are metered too)
  framesExpected: number;
  framesReceived: number;
  lost: number;
  merged: number;
  altered: number;
  extra: number;
  byteIdenticalStreams: number;
  coalescedFrames: number; // frames that arrived in the same read as the previous one (informational)
  ttHeadersMs: Summary;
  ttffMs: Summary;
  gapMs: Summary;
  wallMs: number;
  errors: string[];
}

/** Counts SSE event ends (blank lines after data) chunk by chunk; handles CRLF, LF and CR. */
class EventCounter {
  private lineLen = 0;
  private prevCR = false;
  private hasData = false;
  feed(chunk: Buffer): number {
    let events = 0;
    for (let k = 0; k < chunk.length; k++) {
      const b = chunk[k]!;
      if (b === 0x0a && this.prevCR) {
        this.prevCR = false;
        continue;
      }
      if (b === 0x0d || b === 0x0a) {
        this.prevCR = b === 0x0d;
        if (this.lineLen === 0) {
          if (this.hasData) events++;
          this.hasData = false;
        } else this.hasData = true;
        this.lineLen = 0;
      } else {
        this.prevCR = false;
        this.lineLen++;
      }
    }
    return events;
  }
}

interface Expected {
  bytes: Buffer;
  sha: string;
  events: string[]; // without terminators
}

function expected(seed: string, n: number): Expected {
  const frames = sseFrames(seed, n);
  const bytes = Buffer.concat(frames);
  return {
    bytes,
    sha: createHash('sha256').update(bytes).digest('hex'),
    events: frames.map((f) => f.toString('utf8').replace(/\r\n\r\n$/, '')),
  };
}

/** Lines up received events against expected ones: which were lost, merged into one, or altered. */
export function classify(received: Buffer, exp: Expected): { received: number; lost: number; merged: number; altered: number; extra: number } {
  const got = received
    .toString('utf8')
    .split(/\r\n\r\n|\n\n|\r\r/)
    .filter((e) => e.trim().length > 0);
  const payload = (e: string): string => e.replace(/^data: ?/, '');
  let i = 0;
  let merged = 0;
  let altered = 0;
  let extra = 0;
  for (const r of got) {
    if (i >= exp.events.length) {
      extra++;
      continue;
    }
    if (r === exp.events[i]) {
      i++;
      continue;
    }
    let k = 0;
    while (i + k < exp.events.length && r.includes(payload(exp.events[i + k]!))) k++;
    if (k >= 2) {
      merged += k;
      i += k;
    } else {
      altered++;
      i++;
    }
  }
  return { received: got.length, lost: exp.events.length - i, merged, altered, extra };
}

export async function runSse(o: SseOptions): Promise<SseResult> {
  const pool = new Pool(o.baseUrl, { connections: o.streams, pipelining: 1, keepAliveTimeout: 30_000, bodyTimeout: 60_000 });
  const headers = { 'content-type': 'application/json', 'x-goog-api-key': o.key };
  let prewarmOk = 0;
  if (o.prewarm) {
    const body = requestBody('prewarm');
    await Promise.all(
      Array.from({ length: o.streams }, async () => {
        try {
          const r = await pool.request({ path: UNARY_PATH, method: 'POST', headers, body });
          await r.body.dump({ limit: 1 << 20 });
          if (r.statusCode === 200) prewarmOk++;
        } catch {
          /* the streams will report it */
        }
      }),
    );
  }
  const ttHeaders = new Samples(o.streams);
  const ttff = new Samples(o.streams);
  const gaps = new Samples(o.streams * o.frames);
  const res: SseResult = {
    streams: o.streams,
    ok: 0,
    failed: 0,
    prewarmOk,
    framesExpected: o.streams * o.frames,
    framesReceived: 0,
    lost: 0,
    merged: 0,
    altered: 0,
    extra: 0,
    byteIdenticalStreams: 0,
    coalescedFrames: 0,
    ttHeadersMs: summarize([]),
    ttffMs: summarize([]),
    gapMs: summarize([]),
    wallMs: 0,
    errors: [],
  };
  const note = (msg: string): void => {
    if (res.errors.length < 5) res.errors.push(msg);
  };
  const abort = new AbortController();
  setMaxListeners(0, abort.signal); // one signal shared by every stream
  const guard = setTimeout(() => abort.abort(new Error('sse round timed out')), o.frames * o.delayMs + 30_000);

  // Everything per-stream is computed before the clock starts, so no stream's TTFF pays for another's setup.
  const seeds = Array.from({ length: o.streams }, (_, i) => `${o.seedPrefix}-${i}`);
  const exps = seeds.map((seed) => expected(seed, o.frames));
  const bodies = seeds.map((seed) => requestBody(seed));

  const one = async (idx: number): Promise<void> => {
    const exp = exps[idx]!;
    const t0 = performance.now();
    try {
      const r = await pool.request({ path: SSE_PATH, method: 'POST', headers, body: bodies[idx]!, signal: abort.signal });
      const tHead = performance.now();
      if (r.statusCode !== 200) {
        res.failed++;
        res.lost += o.frames;
        note(`stream ${idx}: status ${r.statusCode}: ${(await r.body.text()).slice(0, 200)}`);
        return;
      }
      ttHeaders.push(tHead - t0);
      const counter = new EventCounter();
      const chunks: Buffer[] = [];
      const hash = createHash('sha256');
      let last = -1;
      for await (const chunk of r.body as AsyncIterable<Buffer>) {
        const now = performance.now();
        chunks.push(chunk);
        hash.update(chunk);
        const n = counter.feed(chunk);
        for (let e = 0; e < n; e++) {
          if (last < 0) ttff.push(now - t0);
          else {
            gaps.push(now - last);
            if (e > 0) res.coalescedFrames++;
          }
          last = now;
        }
      }
      if (hash.digest('hex') === exp.sha) {
        res.byteIdenticalStreams++;
        res.framesReceived += o.frames;
        res.ok++;
      } else {
        const c = classify(Buffer.concat(chunks), exp);
        res.framesReceived += c.received;
        res.lost += c.lost;
        res.merged += c.merged;
        res.altered += c.altered;
        res.extra += c.extra;
        note(`stream ${idx}: bytes differ (lost ${c.lost}, merged ${c.merged}, altered ${c.altered}, extra ${c.extra})`);
      }
    } catch (err) {
      res.failed++;
      res.lost += o.frames;
      note(`stream ${idx}: ${(err as Error).message}`);
    }
  };

  const started = performance.now();
  await Promise.all(Array.from({ length: o.streams }, (_, i) => one(i)));
  res.wallMs = performance.now() - started;
  clearTimeout(guard);
  await pool.close();
  res.ttHeadersMs = summarize(ttHeaders.values());
  res.ttffMs = summarize(ttff.values());
  res.gapMs = summarize(gaps.values());
  return res;
}
