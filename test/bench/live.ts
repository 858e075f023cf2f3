// Live relay cost: round trips of a recorded 129 KB audio frame (client → upstream) answered by a
// 24 KB binary frame (upstream → client), direct to the fake Live upstream vs through the gateway,
// one session and 50 concurrent ones. Run: npx tsx test/bench/live.ts
import { performance } from 'node:perf_hooks';
import { UPSTREAM_KEY } from '../support/harness.js';
import { loadLiveRecording, type LiveStep } from '../support/fake-live-upstream.js';
import { rawConnect, startLiveHarness } from '../support/live.js';

const ROUNDS = 200;
const audio = loadLiveRecording('should_reply_to_realtime_audio_input');
const setup = audio[0]!;
const setupComplete = audio[1]!;
const frame = audio[2]!.data;
const answer: LiveStep = { dir: '<', data: Buffer.from(JSON.stringify({ serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: 'audio/pcm;rate=24000', data: 'A'.repeat(24_000) } }] } } }, null, 2)) };
const steps: LiveStep[] = [setup, setupComplete];
for (let i = 0; i < ROUNDS; i++) steps.push({ dir: '>', data: frame }, answer);

async function session(url: string, headers: Record<string, string>): Promise<number[]> {
  const c = rawConnect(url, headers);
  await c.opened;
  c.ws.send(setup.data, { binary: false });
  await c.waitFrames(1);
  const rtts: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    c.ws.send(frame, { binary: false });
    await c.waitFrames(i + 2);
    rtts.push(performance.now() - t);
  }
  c.ws.close();
  await c.closed;
  return rtts;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const fmt = (xs: number[]) => `p50 ${pct(xs, 0.5).toFixed(2)} ms, p99 ${pct(xs, 0.99).toFixed(2)} ms`;

const h = await startLiveHarness({ steps });
const { key } = await h.createKey();
const path = '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';
const direct = `${h.live.url.replace(/^http/, 'ws')}${path}`;
const via = h.liveUrl();
await session(via, { 'x-goog-api-key': key }); // warm-up
for (const [name, url, hdr] of [['direct', direct, { 'x-goog-api-key': UPSTREAM_KEY }], ['gateway', via, { 'x-goog-api-key': key }]] as const) {
  console.log(`${name} 1 session: ${fmt(await session(url, hdr))}`);
  const rss0 = process.memoryUsage().rss;
  const t = performance.now();
  const all = (await Promise.all(Array.from({ length: 50 }, () => session(url, hdr)))).flat();
  console.log(`${name} 50 sessions: ${fmt(all)}, ${(performance.now() - t).toFixed(0)} ms for ${50 * ROUNDS} round trips (${((50 * ROUNDS * (frame.length + answer.data.length)) / 1e6).toFixed(0)} MB), rss +${((process.memoryUsage().rss - rss0) / 1e6).toFixed(0)} MB`);
}
await h.close();
