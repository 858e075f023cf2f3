import { describe, expect, it } from 'vitest';
import { startHarness } from '../support/harness.js';
import { startOtlpReceiver } from '../support/otlp-receiver.js';

const SERVER = 2; // OTLP SpanKind
const ERROR = 2; // OTLP StatusCode

describe('OpenTelemetry for a gateway with no upstream key yet', () => {
  it('ends the refused request in admission, with error status, and gives it no upstream span', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const h = await startHarness({ env: { GEMINI_API_KEY: '', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' } });
      const { key } = await h.createKey();
      const res = await fetch(`${h.url}/v1beta/models/google-text:generateContent`, {
        method: 'POST', headers: { 'x-goog-api-key': key, 'content-type': 'application/json' }, body: '{"contents":[{"parts":[{"text":"hi"}]}]}',
      });
      expect(res.status).toBe(503);
      const [row] = await h.waitForRows(1);
      await h.close();
      expect(h.fake.requests).toHaveLength(0);
      const spans = receiver.spans();
      const request = spans.find((s) => s.kind === SERVER && s.attributes['gemini_gateway.request_id'] === row!.request_id)!;
      expect(request.status.code).toBe(ERROR);
      expect(request.attributes['error.type']).toBe('gateway_error');
      const children = spans.filter((s) => s.parentSpanId === request.spanId);
      expect(children.map((s) => s.name)).toEqual(['gemini_gateway.admission']);
      expect(children[0]!.status).toMatchObject({ code: ERROR, message: expect.stringContaining('no upstream Gemini key') });
    } finally {
      await receiver.close();
    }
  });
});
