import { redactSecrets } from '../redact.js';

type Headers = Record<string, string | string[]>;

/** Error bodies are small; a larger one streams through untouched. */
const HOLD_LIMIT = 64 * 1024;

/** Response header values with any echoed credential (upstream key, `key=` parameter) scrubbed. */
export function scrubHeaders(headers: Headers, secrets: readonly string[]): Headers {
  for (const name in headers) {
    const v = headers[name]!;
    headers[name] = Array.isArray(v) ? v.map((x) => redactSecrets(x, secrets)) : redactSecrets(v, secrets);
  }
  return headers;
}

/**
 * An upstream error response held back until complete, so that a credential it echoes (an error
 * message quoting the key, an HTML error page quoting the URL) is scrubbed before the client sees
 * it. Bytes are compared as latin1, which maps bytes 1:1, so a body without secrets is sent
 * exactly as received. Compressed bodies cannot be searched and pass through unheld.
 */
export class HeldErrorBody {
  private chunks: Buffer[] = [];
  private size = 0;

  private constructor(
    private readonly headers: Headers,
    private readonly secrets: readonly string[],
  ) {}

  static forResponse(status: number, headers: Headers, contentEncoding: string | undefined, secrets: readonly string[]): HeldErrorBody | null {
    if (status < 400) return null;
    if (contentEncoding && contentEncoding.trim().toLowerCase() !== 'identity') return null;
    if (Number(headers['content-length'] ?? 0) > HOLD_LIMIT) return null;
    return new HeldErrorBody(headers, secrets);
  }

  /** Keeps the chunk; false once the body outgrew the limit (then `release` it). */
  add(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.size += chunk.length;
    return this.size <= HOLD_LIMIT;
  }

  release(): { headers: Headers; body: Buffer } {
    return { headers: this.headers, body: Buffer.concat(this.chunks, this.size) };
  }

  finish(): { headers: Headers; body: Buffer } {
    const raw = Buffer.concat(this.chunks, this.size);
    const text = raw.toString('latin1');
    const clean = redactSecrets(text, this.secrets);
    if (clean === text) return { headers: this.headers, body: raw };
    const body = Buffer.from(clean, 'latin1');
    if (this.headers['content-length'] !== undefined) this.headers['content-length'] = String(body.length);
    return { headers: this.headers, body };
  }
}
