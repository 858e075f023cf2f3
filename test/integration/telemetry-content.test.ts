import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, UPSTREAM_KEY, type Harness } from '../support/harness.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';

const SERVER = 2;
const KEY_SHAPED = 'AIza' + 'x'.repeat(35);

let receiver: OtlpReceiver;
let h: Harness;
let spans: ReceivedSpan[];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  h = await startHarness({
    env: {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'SPAN_ONLY',
    },
  });
  const ai = h.sdk((await h.createKey()).key);
  await ai.models.generateContent({
    model: 'google-text',
    contents: `how many r in strawberry? my keys: ${UPSTREAM_KEY} ${KEY_SHAPED}`,
    config: { systemInstruction: 'Be brief.' },
  });
  for await (const _ of await ai.models.generateContentStream({ model: 'google-text', contents: 'streamed prompt' })) void _;
  await h.waitForRows(2);
  await h.close();
  spans = receiver.spans().filter((s) => s.kind === SERVER);
}, 60_000);
afterAll(async () => receiver?.close());

describe('OpenTelemetry content capture (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT)', () => {
  it('puts the prompt, system instruction and answer on the span in the conventions message shape, keys scrubbed', () => {
    const unary = spans.find((s) => s.attributes['gemini_gateway.endpoint'] === 'generateContent')!;
    const input = JSON.parse(unary.attributes['gen_ai.input.messages'] as string);
    expect(input).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'how many r in strawberry? my keys: [redacted] [redacted]' }] }]);
    expect(JSON.parse(unary.attributes['gen_ai.system_instructions'] as string)).toEqual([{ type: 'text', content: 'Be brief.' }]);
    const output = JSON.parse(unary.attributes['gen_ai.output.messages'] as string);
    expect(output).toEqual([{ role: 'assistant', finish_reason: 'STOP', parts: [{ type: 'text', content: expect.stringContaining("There are **3** r's in strawberry.") }] }]);
    const all = receiver.bodies.join('\n');
    expect(all).not.toContain(UPSTREAM_KEY);
    expect(all).not.toContain(KEY_SHAPED);
  });

  it('captures a stream’s prompt but not its answer (streams are never reassembled)', () => {
    const stream = spans.find((s) => s.attributes['gemini_gateway.endpoint'] === 'streamGenerateContent')!;
    expect(JSON.parse(stream.attributes['gen_ai.input.messages'] as string)[0].parts[0].content).toBe('streamed prompt');
    expect(stream.attributes['gen_ai.output.messages']).toBeUndefined();
  });

  it('exports traces only when only the traces endpoint is set', () => {
    expect(receiver.histogram('gen_ai.client.token.usage')).toBeNull();
    expect(receiver.rejected).toEqual([]);
  });
});
