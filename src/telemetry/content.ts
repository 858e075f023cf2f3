import type { Attributes } from '@opentelemetry/api';
import { redactSecrets } from '../redact.js';
import type { Endpoint } from '../exchange/classify.js';
import { isObject } from '../values.js';

/**
 * Prompt and answer content for spans, only when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
 * asks for it, in the conventions' message shape ({role, parts:[{type, content}]}). Inline media is
 * described, never copied; anything key-shaped is scrubbed.
 */
export function inputContent(endpoint: Endpoint, body: unknown, secrets: readonly string[]): Attributes {
  if (!isObject(body)) return {};
  const out: Attributes = {};
  let messages: unknown[] | null = null;
  let system: unknown = null;
  if (endpoint === 'interactions.create') {
    messages = interactionInput(body.input);
    system = typeof body.system_instruction === 'string' ? [{ type: 'text', content: body.system_instruction }] : null;
  } else if (Array.isArray(body.contents)) {
    messages = body.contents.map(message);
    const si = body.systemInstruction ?? body.system_instruction;
    system = isObject(si) && Array.isArray(si.parts) ? si.parts.map(part) : null;
  } else if (isObject(body.content)) {
    messages = [message(body.content)];
  } else if (Array.isArray(body.requests)) {
    messages = body.requests.map((r) => message(isObject(r) ? r.content : null));
  }
  if (messages) out['gen_ai.input.messages'] = scrubbed(messages, secrets);
  if (system) out['gen_ai.system_instructions'] = scrubbed(system, secrets);
  return out;
}

/** Output content of a whole (non-streamed) answer; streams are not reassembled for this. */
export function outputContent(endpoint: Endpoint, body: unknown, secrets: readonly string[]): Attributes {
  if (!isObject(body)) return {};
  if (Array.isArray(body.candidates)) {
    const messages = body.candidates.map((c) => {
      const cand = isObject(c) ? c : {};
      return { ...message(cand.content), role: 'assistant', finish_reason: cand.finishReason ?? null };
    });
    return { 'gen_ai.output.messages': scrubbed(messages, secrets) };
  }
  if (endpoint === 'interactions.create' && Array.isArray(body.outputs)) {
    return { 'gen_ai.output.messages': scrubbed([{ role: 'assistant', parts: body.outputs.map(interactionPart) }], secrets) };
  }
  return {};
}

function scrubbed(value: unknown, secrets: readonly string[]): string {
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    // A client's arguments may nest deeper than JSON.stringify recurses: the request still goes upstream.
    return JSON.stringify('[not captured: nested too deeply]');
  }
  return redactSecrets(json, secrets);
}

function message(content: unknown): { role: string; parts: unknown[] } {
  if (!isObject(content)) return { role: 'user', parts: [] };
  const role = content.role === 'model' ? 'assistant' : typeof content.role === 'string' ? content.role : 'user';
  return { role, parts: Array.isArray(content.parts) ? content.parts.map(part) : [] };
}

function part(p: unknown): unknown {
  if (!isObject(p)) return { type: 'unknown' };
  if (typeof p.text === 'string') return { type: p.thought === true ? 'reasoning' : 'text', content: p.text };
  const call = p.functionCall ?? p.function_call;
  if (isObject(call)) return { type: 'tool_call', name: call.name, arguments: call.args ?? null };
  const response = p.functionResponse ?? p.function_response;
  if (isObject(response)) return { type: 'tool_call_response', name: response.name, response: response.response ?? null };
  const inline = p.inlineData ?? p.inline_data;
  if (isObject(inline)) return { type: 'blob', mime_type: inline.mimeType ?? inline.mime_type ?? null };
  const file = p.fileData ?? p.file_data;
  if (isObject(file)) return { type: 'uri', uri: file.fileUri ?? file.file_uri ?? null, mime_type: file.mimeType ?? file.mime_type ?? null };
  return { type: Object.keys(p)[0] ?? 'unknown' };
}

/** Interactions `input`: a string, a list of content items, or a list of turns ({role, content}). */
function interactionInput(input: unknown): unknown[] | null {
  if (typeof input === 'string') return [{ role: 'user', parts: [{ type: 'text', content: input }] }];
  if (!Array.isArray(input)) return null;
  if (input.every((t) => isObject(t) && 'role' in t)) {
    return input.map((t) => {
      const turn = t as Record<string, unknown>;
      const parts = typeof turn.content === 'string' ? [{ type: 'text', content: turn.content }] : Array.isArray(turn.content) ? turn.content.map(interactionPart) : [];
      return { role: turn.role === 'model' ? 'assistant' : turn.role, parts };
    });
  }
  return [{ role: 'user', parts: input.map(interactionPart) }];
}

function interactionPart(p: unknown): unknown {
  if (!isObject(p)) return { type: 'unknown' };
  if (p.type === 'text' && typeof p.text === 'string') return { type: 'text', content: p.text };
  if (p.type === 'thought') return { type: 'reasoning', content: typeof p.summary === 'string' ? p.summary : null };
  if (p.type === 'function_call') return { type: 'tool_call', name: p.name, arguments: p.arguments ?? null };
  if (p.type === 'function_result') return { type: 'tool_call_response', name: p.name, response: p.result ?? null };
  if (typeof p.uri === 'string') return { type: 'uri', uri: p.uri, mime_type: p.mime_type ?? null };
  return { type: typeof p.type === 'string' ? p.type : 'unknown' };
}
