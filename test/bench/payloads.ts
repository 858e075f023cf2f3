// Deterministic request/response bodies shared by the mock upstream and the load clients,
// so a client can compute byte-for-byte what the upstream sent.

export const MODEL = 'gemini-2.0-flash';
export const UNARY_PATH = `/v1beta/models/${MODEL}:generateContent`;
export const SSE_PATH = `/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`;

export const PROMPT_TOKENS = 12;
export const UNARY_OUTPUT_TOKENS = 118;
export const TOKENS_PER_FRAME = 5;

/** Body the clients send; `seed` is echoed back in every SSE frame so streams can't be mixed up. */
export function requestBody(seed: string): string {
  return JSON.stringify({
    contents: [{ role: 'user', parts: [{ text: `bench ${seed}: say something short.` }] }],
    generationConfig: { temperature: 0, maxOutputTokens: 512 },
  });
}

/** What the mock extracts from a request body (null when it isn't ours). */
export function seedOf(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as { contents?: Array<{ parts?: Array<{ text?: unknown }> }> };
    const text = parsed.contents?.[0]?.parts?.[0]?.text;
    if (typeof text !== 'string') return null;
    const m = /^bench (.+): say something short\.$/.exec(text);
    return m ? m[1]! : null;
  } catch {
    return null;
  }
}

function usage(output: number) {
  return {
    promptTokenCount: PROMPT_TOKENS,
    candidatesTokenCount: output,
    totalTokenCount: PROMPT_TOKENS + output,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: PROMPT_TOKENS }],
  };
}

/** ~800-byte generateContent reply, formatted the way Google formats it (2-space JSON). */
export const UNARY_REPLY: Buffer = (() => {
  const text =
    'Benchmarks measure what they measure — no more. This reply is padded so the body is about ' +
    'eight hundred bytes, roughly the size of a short real answer, including a non-ASCII dash so ' +
    'a proxy that re-encodes text would change the bytes. Lorem ipsum dolor sit amet, consectetur ' +
    'adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.';
  const body = {
    candidates: [
      {
        content: { parts: [{ text }], role: 'model' },
        finishReason: 'STOP',
        avgLogprobs: -0.12345678901234,
      },
    ],
    usageMetadata: {
      ...usage(UNARY_OUTPUT_TOKENS),
      candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: UNARY_OUTPUT_TOKENS }],
    },
    modelVersion: MODEL,
    responseId: 'bench-unary-0000000000',
  };
  return Buffer.from(JSON.stringify(body, null, 2) + '\n', 'utf8');
})();

const SEED = '@@SEED@@';

function frameText(seed: string, i: number, n: number): string {
  const last = i === n - 1;
  const candidate: Record<string, unknown> = {
    content: { parts: [{ text: `[${seed}] chunk ${i} of ${n} — the quick brown fox jumps over the lazy dog. ` }], role: 'model' },
  };
  if (last) candidate.finishReason = 'STOP';
  const chunk = {
    candidates: [candidate],
    usageMetadata: usage(TOKENS_PER_FRAME * (i + 1)), // cumulative, like the real API
    modelVersion: MODEL,
    responseId: `bench-${seed}`,
  };
  return `data: ${JSON.stringify(chunk)}\r\n\r\n`;
}

/** Per frame count n: each frame split around the seed, so building a stream's frames is a join. */
const templates = new Map<number, string[][]>();
function template(n: number): string[][] {
  let t = templates.get(n);
  if (!t) {
    t = Array.from({ length: n }, (_, i) => frameText(SEED, i, n).split(SEED));
    templates.set(n, t);
  }
  return t;
}

/** Frame i (0-based) of n for a stream seeded `seed` (letters, digits, dashes), with its CRLF CRLF terminator. */
export function sseFrame(seed: string, i: number, n: number): string {
  return template(n)[i]!.join(seed);
}

export function sseFrames(seed: string, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) out.push(Buffer.from(sseFrame(seed, i, n), 'utf8'));
  return out;
}

export const streamOutputTokens = (n: number): number => TOKENS_PER_FRAME * n;
