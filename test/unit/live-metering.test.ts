import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLiveTarget } from '../../src/live/path.js';
import { closeReason, constrainSetup, looksLikeJsonObject, parseSetup } from '../../src/live/setup.js';
import { fromLiveUsageMetadata, inspectServerMessage, TurnMeter } from '../../src/live/usage.js';
import { loadLiveRecording } from '../support/fake-live-upstream.js';
import { FIXTURES_DIR } from '../support/fixtures.js';

const RECORDINGS = readdirSync(path.join(FIXTURES_DIR, 'live')).map((f) => f.replace('.websocket.log', ''));

describe('Live usage extraction', () => {
  it.each(RECORDINGS)('meters %s exactly as its usageMetadata messages say, parsing only those', (name) => {
    const server = loadLiveRecording(name).filter((s) => s.dir === '<').map((s) => s.data);
    const meter = new TurnMeter();
    const rows: number[] = [];
    for (const frame of server) {
      const turn = meter.push(frame);
      if (turn.usage) rows.push(turn.usage.totalTokens);
    }
    // The reference: every message parsed, every top-level usageMetadata taken.
    const expected = server.map((f) => JSON.parse(f.toString())).filter((m) => m.usageMetadata).map((m) => m.usageMetadata.totalTokenCount);
    expect(rows).toEqual(expected);
    for (const frame of server) {
      const parsed = JSON.parse(frame.toString());
      expect(inspectServerMessage(frame).turnComplete).toBe(parsed.serverContent?.turnComplete === true);
    }
  });

  it('maps responseTokenCount to output tokens and keeps the object as sent', () => {
    const [frame] = loadLiveRecording('should_send_text_in_async_session').filter((s) => s.dir === '<').slice(-1);
    const u = inspectServerMessage(frame!.data).usage!;
    expect(u).toMatchObject({ promptTokens: 515, outputTokens: 38, totalTokens: 553, cachedTokens: 0 });
    expect(JSON.parse(u.json)).toEqual(JSON.parse(frame!.data.toString()).usageMetadata);
  });

  it('sums a turn whose usage is split over several messages (3.x models) into one row', () => {
    const meter = new TurnMeter();
    const msg = (o: unknown) => Buffer.from(JSON.stringify(o, null, 2) + '\n');
    expect(meter.push(msg({ usageMetadata: { promptTokenCount: 100, totalTokenCount: 100 } }))).toEqual({ completed: false, usage: null });
    expect(meter.push(msg({ serverContent: { modelTurn: { parts: [{ text: 'say "turnComplete": true' }] } } })).completed).toBe(false);
    expect(meter.push(msg({ usageMetadata: { responseTokenCount: 20, totalTokenCount: 20 } })).completed).toBe(false);
    expect(meter.open()?.totalTokens).toBe(120);
    const done = meter.push(msg({ serverContent: { turnComplete: true }, usageMetadata: {} }));
    expect(done.completed).toBe(true);
    expect(done.usage).toMatchObject({ promptTokens: 100, outputTokens: 20, totalTokens: 120 });
    expect(JSON.parse(done.usage!.json)).toHaveLength(3);
    expect(meter.open()).toBeNull();
    expect(meter.turns).toBe(1);
  });

  it('reads no usage from a message without the key, whatever its size', () => {
    const audio = Buffer.from(JSON.stringify({ serverContent: { modelTurn: { parts: [{ inlineData: { data: 'A'.repeat(300_000) } }] } } }));
    expect(inspectServerMessage(audio)).toEqual({ usage: null, turnComplete: false });
    expect(fromLiveUsageMetadata(null)).toBeNull();
  });
});

describe('Live paths, setup and close reasons', () => {
  it('recognises the SDK double slash, the public prefix and the constrained method', () => {
    const p = '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';
    expect(parseLiveTarget(`/${p}?key=x`, '')).toEqual({ apiVersion: 'v1beta', constrained: false, path: p, search: '?key=x' });
    expect(parseLiveTarget(`/gw/${p}`, '/gw')?.path).toBe(p);
    expect(parseLiveTarget(`/gw${p}`, '/gw')?.path).toBe(p);
    expect(parseLiveTarget(`${p}Constrained?access_token=t`, '')?.constrained).toBe(true);
    expect(parseLiveTarget('/ws/other', '')).toBeNull();
    expect(parseLiveTarget(`${p}/x`, '')).toBeNull();
  });

  it('applies token constraints the way Google does: whole setup without a mask, masked fields and model with one', () => {
    const client = { model: 'models/b', generationConfig: { temperature: 1, topK: 3 }, systemInstruction: 'x' };
    const token = { model: 'models/a', generationConfig: { temperature: 0.2 } };
    expect(constrainSetup(client, null, null)).toBeNull();
    expect(constrainSetup(client, token, null)).toEqual(token);
    expect(constrainSetup(client, token, 'generationConfig.temperature')).toEqual({ model: 'models/a', generationConfig: { temperature: 0.2, topK: 3 }, systemInstruction: 'x' });
    expect(constrainSetup({ ...client, model: 'models/a', generationConfig: { temperature: 0.2, topK: 3 } }, token, 'generationConfig.temperature')).toBeNull();
  });

  it('checks client frames cheaply and parses only the setup', () => {
    expect(looksLikeJsonObject(Buffer.from(' {"realtimeInput":{}}\n'))).toBe(true);
    expect(looksLikeJsonObject(Buffer.from('hello'))).toBe(false);
    expect(parseSetup(Buffer.from('{"setup":{"model":"models/m"}}'))).toMatchObject({ ok: true, model: 'm' });
    expect(parseSetup(Buffer.from('{"clientContent":{}}')).ok).toBe(false);
    expect(parseSetup(Buffer.from('{nope')).ok).toBe(false);
  });

  it('keeps close reasons within 123 bytes without splitting a character', () => {
    const r = closeReason('é'.repeat(100));
    expect(Buffer.byteLength(r)).toBeLessThanOrEqual(123);
    expect(r).not.toContain('\uFFFD');
    expect(closeReason('short')).toBe('short');
  });
});
