// Cost of OpenTelemetry on Live sessions: the same short sessions (setup, two recorded text turns,
// close) through a gateway with telemetry off and one exporting every session (always_on, OTLP/HTTP
// protobuf to a sink that drops it), in alternating rounds in one process. CPU is the whole
// process's (client, fake upstream, gateway, sink), so the ratio understates the gateway's own
// share. Then 200 round trips of the 129 KB audio frame per mode: per-frame relay work is unchanged.
// Run: npx tsx test/bench/live-otel.ts
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { loadLiveRecording } from '../support/fake-live-upstream.js';
import { clientFrames, rawConnect, recording, serverFrames, startLiveHarness, type LiveHarness } from '../support/live.js';

const SESSIONS = Number(process.env.SESSIONS ?? 300);
const CONCURRENCY = 10;
const ROUNDS = Number(process.env.ROUNDS ?? 3);

const text = recording('should_send_text_in_async_session');
const script = { steps: [...text.steps, ...text.steps.slice(2)] };
const frames = clientFrames(script);
const expected = serverFrames(script).length;

let exported = 0;
const sink = http.createServer((req, res) => {
  req.on('data', (c: Buffer) => (exported += c.length));
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

const off = await startLiveHarness(script);
const on = await startLiveHarness(script, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_TRACES_SAMPLER: 'always_on', OTEL_METRIC_EXPORT_INTERVAL: '10000' } });
const keys = new Map<LiveHarness, string>([[off, (await off.createKey()).key], [on, (await on.createKey()).key]]);

async function oneSession(h: LiveHarness): Promise<void> {
  const c = rawConnect(h.liveUrl('v1beta', `?key=${keys.get(h)}`));
  await c.opened;
  for (const f of frames) c.ws.send(f);
  await c.waitFrames(expected);
  c.ws.close(1000);
  await c.closed;
}

async function round(h: LiveHarness): Promise<{ cpuUs: number; ms: number }> {
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < SESSIONS) {
      next++;
      await oneSession(h);
    }
  }));
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / SESSIONS, ms: performance.now() - t };
}

await round(off); // warm-up
await round(on);
const results: Record<'off' | 'on', number[]> = { off: [], on: [] };
for (let i = 0; i < ROUNDS; i++) {
  for (const [name, h] of [['off', off], ['on', on]] as const) {
    const r = await round(h);
    results[name].push(r.cpuUs);
    console.log(`round ${i + 1} ${name}: ${r.cpuUs.toFixed(0)} µs CPU per session (${SESSIONS} sessions, ${r.ms.toFixed(0)} ms)`);
  }
}
const ratios = results.on.map((v, i) => v / results.off[i]!);
console.log(`on ÷ off, CPU per session, per round: ${ratios.map((r) => r.toFixed(2)).join(', ')}`);

// Per-frame relay: 200 round trips of the 129 KB audio frame answered by a small frame, in one session per mode.
const audio = loadLiveRecording('should_reply_to_realtime_audio_input');
const [setup, , big] = audio;
const answer = Buffer.from(JSON.stringify({ serverContent: { modelTurn: { parts: [{ text: 'ok' }] } } }));
for (const h of [off, on]) h.live.script = { steps: [setup!, audio[1]!, ...Array.from({ length: 200 }, () => [{ dir: '>' as const, data: big!.data }, { dir: '<' as const, data: answer }]).flat()] };
for (let i = 0; i < ROUNDS; i++) {
  for (const [name, h] of [['off', off], ['on', on]] as const) {
    const c = rawConnect(h.liveUrl('v1beta', `?key=${keys.get(h)}`));
    await c.opened;
    c.ws.send(setup!.data);
    await c.waitFrames(1);
    const cpu0 = process.cpuUsage();
    for (let j = 0; j < 200; j++) {
      c.ws.send(big!.data);
      await c.waitFrames(j + 2);
    }
    const cpu = process.cpuUsage(cpu0);
    c.ws.close(1000);
    await c.closed;
    console.log(`round ${i + 1} ${name}: ${((cpu.user + cpu.system) / 200).toFixed(0)} µs CPU per relayed audio round trip`);
  }
}

await off.close();
await on.close();
sink.close();
console.log(`exported ${(exported / 1e6).toFixed(1)} MB of OTLP`);
if (exported === 0) throw new Error('the sink received no export');
