import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness.js';
import { clientFrames, rawConnect, recording, serverFrames, startLiveHarness } from '../support/live.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());

describe('OpenTelemetry off (the default)', () => {
  it('adds no stage, never loads the SDK, and passes a client trace context upstream untouched', async () => {
    expect(h.config.TELEMETRY).toBeNull();
    expect(h.gateway.deps.stages.map((s) => s.name)).not.toContain('telemetry');
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await fetch(`${h.url}/v1beta/models/google-text:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': (await h.createKey()).key, 'content-type': 'application/json', traceparent, tracestate: 'k=v' },
      body: '{"contents":[{"parts":[{"text":"hi"}]}]}',
    });
    expect(res.status).toBe(200);
    expect(h.fake.requests.at(-1)!.headers).toMatchObject({ traceparent, tracestate: 'k=v' });
    // The SDK packages are CommonJS: loaded by anything, they would sit in the require cache.
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    expect(loaded.filter((f) => f.includes('@opentelemetry/sdk-') || f.includes('@opentelemetry/exporter-'))).toEqual([]);
  });
});

describe('OpenTelemetry off, Live sessions', () => {
  it('relays and meters a session without loading the SDK, and sends upstream no trace context of its own', async () => {
    const script = recording('should_send_text_in_async_session');
    const live = await startLiveHarness(script);
    try {
      const c = rawConnect(live.liveUrl('v1beta', `?key=${(await live.createKey()).key}`), { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
      await c.opened;
      for (const f of clientFrames(script)) c.ws.send(f);
      await c.waitFrames(serverFrames(script).length);
      c.ws.close(1000);
      await live.live.sessions[0]!.closed;
      expect((await live.waitForRows(2)).map((r) => r.endpoint).sort()).toEqual(['live', 'live_session']);
      // Off, the Live relay passes only its usual headers: no traceparent, neither the client's nor one of its own.
      expect(live.live.sessions[0]!.headers.traceparent).toBeUndefined();
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      expect(loaded.filter((f) => f.includes('@opentelemetry/sdk-') || f.includes('@opentelemetry/exporter-'))).toEqual([]);
    } finally {
      await live.close();
    }
  });
});

describe('OpenTelemetry with its collector down', () => {
  it('serves requests as usual and still shuts down (the final export gives up instead of holding the exit)', async () => {
    const down = await startHarness({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } });
    const ai = down.sdk((await down.createKey()).key);
    const res = await ai.models.generateContent({ model: 'google-text', contents: 'hi' });
    expect(res.usageMetadata?.totalTokenCount).toBeGreaterThan(0);
    expect(await down.waitForRows(1)).toHaveLength(1);
    await down.close();
    expect(down.logs.some((l) => l.includes('final export did not finish in time') || l.includes('OpenTelemetry export problem'))).toBe(true);
  });
});
