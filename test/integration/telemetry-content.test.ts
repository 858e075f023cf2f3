import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, UPSTREAM_KEY, type Harness } from '../support/harness.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';

const SERVER = 2;
const KEY_SHAPED = 'AIza' + 'x'.repeat(35);

let receiver: OtlpReceiver;
let h: Harness;
let spans: ReceivedSpan[];
/** Status of a generateContent whose function-call arguments nest 20,000 levels deep (JSON.stringify cannot). */
let deepStatus = 0;

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
  const deep = `{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f","args":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}}}]}]}`;
  deepStatus = (await fetch(`${h.url}/v1beta/models/google-text:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': (await h.createKey()).key, 'content-type': 'application/json' }, body: deep })).status;
  await h.waitForRows(3);
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

  it('a prompt too deeply nested to serialise is forwarded all the same (upstream judges it), never a 500', () => {
    expect(deepStatus).toBe(400);
  });

  it('exports traces only when only the traces endpoint is set', () => {
    expect(receiver.histogram('gen_ai.client.token.usage')).toBeNull();
    expect(receiver.rejected).toEqual([]);
  });
});
