import type { GatewayError } from '../errors.js';
import { frameMayCarryUsage, usageOfText } from '../metering/meter.js';
import { frameData, SseScanner, type SseFrame } from '../metering/sse.js';
import type { UsageFamily } from '../metering/usage.js';

/** What to do with a usage-bearing frame: pass it (null), or end the stream with `error` after it (`deliver`) or in its place. */
export type GuardVerdict = null | { error: GatewayError; deliver: boolean };

/**
 * Watches a stream's running usage (the per-project hard cap). A stage sets it on the context; the
 * forwarder then delivers the stream frame by frame and asks it about every frame that carries usage.
 */
export interface StreamGuard {
  /** Cumulative total tokens reported by the frame just completed. */
  onUsage(totalTokens: number): GuardVerdict;
  /** The forwarder registers how to end this stream from outside (another stream used up the budget). */
  attach(cut: (error: GatewayError) => void): void;
  /** The stream is no longer gated (it ended or was never SSE). */
  detach(): void;
}

/**
 * Cuts an SSE body into whole frames so a stream can be ended cleanly between two of them. Bytes
 * are still forwarded unchanged, only later: the tail of an incomplete frame waits for its end. Only
 * frames that can carry usage are parsed — one JSON.parse each, the price of the hard cap.
 */
export class FrameGate {
  private held: Buffer[] = [];
  private ready = -1;
  private verdict: GuardVerdict = null;
  private readonly scanner: SseScanner;

  constructor(
    private readonly family: UsageFamily,
    private readonly guard: StreamGuard,
  ) {
    this.scanner = new SseScanner((f) => this.onFrame(f));
  }

  /** The error to end the stream with, once the guard has stopped it. */
  get stopped(): GatewayError | null {
    return this.verdict?.error ?? null;
  }

  /** Bytes that may go to the client now: everything up to the end of the last complete, admitted frame. */
  push(chunk: Buffer): Buffer[] {
    if (this.verdict) return [];
    this.ready = -1;
    this.scanner.push(chunk);
    let out: Buffer[] = [];
    let rest = chunk;
    if (this.ready >= 0) {
      out = this.held.length ? [...this.held, chunk.subarray(0, this.ready)] : [chunk.subarray(0, this.ready)];
      this.held = [];
      rest = chunk.subarray(this.ready);
    }
    if (this.verdict) this.held = [];
    else if (rest.length) this.held.push(rest);
    return out;
  }

  /** Upstream finished: whatever is held goes out (a last frame may lack its blank line). */
  end(): Buffer[] {
    if (this.verdict) return [];
    this.scanner.end();
    const verdict = this.verdict as GuardVerdict;
    const out = verdict && !verdict.deliver ? [] : this.held;
    this.held = [];
    return out;
  }

  private onFrame(f: SseFrame): void {
    if (this.verdict) return;
    if (frameMayCarryUsage(this.family, f.pieces)) {
      const usage = usageOfText(this.family, frameData(f.pieces));
      if (usage) {
        this.verdict = this.guard.onUsage(usage.totalTokens);
        if (this.verdict && !this.verdict.deliver) return;
      }
    }
    this.ready = f.end;
  }
}
