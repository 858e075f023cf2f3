// SSE load: opens C concurrent streamGenerateContent?alt=sse streams and records, per stream, time to
// headers, time to first frame, inter-frame gaps, and whether the bytes match what the mock sent.
import { Pool, type Dispatcher } from 'undici';
import { SSE_PATH, UNARY_PATH, requestBody } from './payloads.js';
import { EventCounter, classify, expected } from './sse-verify.js';
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
  // Everything per-stream is computed before the clock starts, so no stream's TTFF pays for another's setup.
  const exps = Array.from({ length: o.streams }, (_, i) => expected(`${o.seedPrefix}-${i}`, o.frames));
  const bodies = Array.from({ length: o.streams }, (_, i) => requestBody(`${o.seedPrefix}-${i}`));
  const open = new Set<Dispatcher.DispatchController>();

  // Raw dispatch handlers, not request() + a Readable: the load side shares a CPU with the mock, so
  // every microsecond per chunk here is noise in everyone's figures.
  const one = (idx: number): Promise<void> =>
    new Promise((resolve) => {
      const exp = exps[idx]!;
      const counter = new EventCounter();
      let status = 0;
      let off = 0; // bytes matched against the expected stream so far
      let diverged: Buffer[] | null = null; // copies of everything from the first differing chunk on
      let errText = '';
      let last = -1;
      let ctl: Dispatcher.DispatchController | null = null;
      let finished = false;
      const t0 = performance.now();
      const finish = (err: Error | null): void => {
        if (finished) return;
        finished = true;
        if (ctl) open.delete(ctl);
        if (err || status !== 200) {
          res.failed++;
          res.lost += o.frames;
          note(`stream ${idx}: ${err ? err.message : `status ${status}: ${errText.slice(0, 200)}`}`);
        } else if (!diverged && off === exp.bytes.length) {
          res.ok++;
          res.byteIdenticalStreams++;
          res.framesReceived += o.frames;
        } else {
          const got = Buffer.concat([exp.bytes.subarray(0, off), ...(diverged ?? [])]);
          const c = classify(got, exp);
          res.framesReceived += c.received;
          res.lost += c.lost;
          res.merged += c.merged;
          res.altered += c.altered;
          res.extra += c.extra;
          note(`stream ${idx}: bytes differ at ${off} (lost ${c.lost}, merged ${c.merged}, altered ${c.altered}, extra ${c.extra})`);
        }
        resolve();
      };
      pool.dispatch(
        { path: SSE_PATH, method: 'POST', headers, body: bodies[idx]! },
        {
          onRequestStart(c) {
            ctl = c;
            open.add(c);
          },
          onResponseStart(_c, statusCode) {
            status = statusCode;
            if (status === 200) ttHeaders.push(performance.now() - t0);
          },
          onResponseData(_c, chunk) {
            const now = performance.now();
            if (status !== 200) {
              errText += chunk.toString('utf8');
              return;
            }
            if (diverged) diverged.push(Buffer.from(chunk));
            else if (off + chunk.length <= exp.bytes.length && chunk.equals(exp.bytes.subarray(off, off + chunk.length))) off += chunk.length;
            else diverged = [Buffer.from(chunk)];
            const n = counter.feed(chunk);
            for (let e = 0; e < n; e++) {
              if (last < 0) ttff.push(now - t0);
              else {
                gaps.push(now - last);
                if (e > 0) res.coalescedFrames++;
              }
              last = now;
            }
          },
          onResponseEnd: () => finish(null),
          onResponseError: (_c, err) => finish(err),
        },
      );
    });

  const guard = setTimeout(() => {
    for (const c of open) c.abort(new Error('sse round timed out'));
  }, o.frames * o.delayMs + 30_000);
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
