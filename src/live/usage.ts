import type { Usage } from '../metering/usage.js';
import { isObject, wholeCount as count } from '../values.js';

/**
 * Live API metering, pure. Server messages are JSON (Google sends them pretty-printed, in binary
 * frames); usage rides in a top-level `usageMetadata` whose output count is `responseTokenCount`.
 * Usage is per turn, not cumulative: a turn's usage is the sum of the usage messages up to and
 * including the one marked `turnComplete` (2.x models send one, 3.x models split it over several).
 * Only messages that contain the `"usageMetadata"` key are parsed — a byte search decides, so
 * audio frames of hundreds of KB are never parsed.
 */

const USAGE_KEY = Buffer.from('"usageMetadata"');
const TURN_COMPLETE = Buffer.from('"turnComplete"');

/** Live `usageMetadata` → the gateway's Usage shape (responseTokenCount is the output). */
export function fromLiveUsageMetadata(u: unknown): Usage | null {
  if (!isObject(u)) return null;
  return {
    promptTokens: count(u.promptTokenCount),
    cachedTokens: count(u.cachedContentTokenCount),
    // Older Live builds were reported to use candidatesTokenCount; take whichever is present.
    outputTokens: count(u.responseTokenCount ?? u.candidatesTokenCount),
    thoughtsTokens: count(u.thoughtsTokenCount),
    toolUsePromptTokens: count(u.toolUsePromptTokenCount),
    totalTokens: count(u.totalTokenCount),
    json: JSON.stringify(u),
  };
}

/** What one server message says for metering. */
export interface LiveMessageInfo {
  usage: Usage | null;
  turnComplete: boolean;
}

const NOTHING: LiveMessageInfo = { usage: null, turnComplete: false };

/**
 * Reads one server message. A message without the usageMetadata key costs two byte searches; one
 * with it costs one JSON.parse. `turnComplete` is a key only where a `:` follows its closing quote
 * (inside a JSON string the quotes would be escaped), and its value must be true.
 */
export function inspectServerMessage(data: Buffer): LiveMessageInfo {
  const hasUsage = data.includes(USAGE_KEY);
  if (!hasUsage) return data.includes(TURN_COMPLETE) ? { usage: null, turnComplete: turnCompleteAt(data) } : NOTHING;
  let msg: unknown;
  try {
    msg = JSON.parse(data.toString('utf8'));
  } catch {
    return NOTHING;
  }
  if (!isObject(msg)) return NOTHING;
  const content = msg.serverContent;
  return { usage: fromLiveUsageMetadata(msg.usageMetadata), turnComplete: isObject(content) && content.turnComplete === true };
}

function turnCompleteAt(data: Buffer): boolean {
  let at = data.indexOf(TURN_COMPLETE);
  while (at !== -1) {
    let i = at + TURN_COMPLETE.length;
    while (i < data.length && isSpace(data[i]!)) i++;
    if (data[i] === 0x3a /* : */) {
      i++;
      while (i < data.length && isSpace(data[i]!)) i++;
      if (data.subarray(i, i + 4).toString('latin1') === 'true') return true;
    }
    at = data.indexOf(TURN_COMPLETE, at + 1);
  }
  return false;
}

const isSpace = (b: number): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** Sums two usages (a turn's parts); the json keeps every part, in order, as a JSON array. */
export function addUsage(a: Usage | null, b: Usage): Usage {
  if (!a) return b;
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    cachedTokens: a.cachedTokens + b.cachedTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    thoughtsTokens: a.thoughtsTokens + b.thoughtsTokens,
    toolUsePromptTokens: a.toolUsePromptTokens + b.toolUsePromptTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    json: `${a.json.startsWith('[') ? a.json.slice(0, -1) : `[${a.json}`},${b.json}]`,
  };
}

/**
 * Cuts a session's server messages into turns. push() returns the usage of the turn that message
 * completed (null while a turn is still open, or when a completed turn reported no usage at all);
 * open() is what the unfinished turn has reported so far (recorded when a session ends mid-turn).
 */
export class TurnMeter {
  private current: Usage | null = null;
  turns = 0;

  push(data: Buffer): { completed: boolean; usage: Usage | null } {
    const info = inspectServerMessage(data);
    if (info.usage) this.current = addUsage(this.current, info.usage);
    if (!info.turnComplete) return { completed: false, usage: null };
    const usage = this.current;
    this.current = null;
    this.turns++;
    return { completed: true, usage };
  }

  open(): Usage | null {
    return this.current;
  }
}
