/**
 * Incremental SSE frame scanner over raw bytes. It never copies or re-encodes: a frame is handed
 * out as views (subarrays) over the chunks the forwarder already holds, so metering costs no
 * allocation beyond forwarding's own. Handles CRLF, LF and lone CR line ends split anywhere,
 * including between the CR and the LF of one line end.
 */
export interface SseFrame {
  /** Value of the last `event:` line, or null. */
  event: string | null;
  /** True when the first `data:` line starts a JSON object whose first key is "error". */
  isError: boolean;
  /** Views over the frame's bytes, in order. Valid until the caller drops them. */
  pieces: Buffer[];
  /** Offset just past the frame's blank line in the chunk being pushed; -1 when end() delivered it. */
  end: number;
}

const LF = 10;
const CR = 13;
const CAPTURE = 48;
const EVENT = Buffer.from('event:');
const DATA_ERROR = /^data: ?\{\s*"error"/;

export class SseScanner {
  private pieces: Buffer[] = [];
  private lineLen = 0;
  private afterCR = false;
  private frameHasLines = false;
  private event: string | null = null;
  private isError = false;
  private sawData = false;
  private readonly scratch = Buffer.allocUnsafe(CAPTURE);
  private captured = 0;
  /** Lines that are bare JSON inside an SSE body (a known upstream bug): counted, never fatal. */
  bareJsonLines = 0;
  frames = 0;

  constructor(private readonly onFrame: (frame: SseFrame) => void) {}

  push(chunk: Buffer): void {
    let pieceStart = 0;
    let nextLF = -2;
    let nextCR = -2;
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      const b = chunk[i]!;
      if (b === LF || b === CR) {
        if (b === LF && this.afterCR) {
          this.afterCR = false;
          // The LF of the CRLF that ended a frame belongs to no later frame.
          if (pieceStart === i && !this.frameHasLines && this.lineLen === 0) pieceStart = i + 1;
          i++;
          continue;
        }
        this.afterCR = b === CR;
        if (this.lineLen === 0) {
          if (this.frameHasLines) {
            this.pieces.push(chunk.subarray(pieceStart, i + 1));
            pieceStart = i + 1;
            this.emit(i + 1);
          } else {
            pieceStart = i + 1; // leading blank lines belong to no frame
          }
        } else {
          this.endLine();
        }
        i++;
        continue;
      }
      this.afterCR = false;
      if (this.captured < CAPTURE) {
        this.scratch[this.captured++] = b;
        this.lineLen++;
        i++;
        continue;
      }
      // Past the captured prefix nothing in the line matters: jump to the next line end natively.
      if (nextLF !== -1 && nextLF < i) nextLF = chunk.indexOf(LF, i);
      if (nextCR !== -1 && nextCR < i) nextCR = chunk.indexOf(CR, i);
      const stop = nextLF === -1 ? (nextCR === -1 ? n : nextCR) : nextCR === -1 ? nextLF : Math.min(nextLF, nextCR);
      this.lineLen += stop - i;
      i = stop;
    }
    if (pieceStart < n && (this.frameHasLines || this.lineLen > 0)) this.pieces.push(chunk.subarray(pieceStart, n));
  }

  atBoundary(): boolean {
    return !this.frameHasLines && this.lineLen === 0;
  }

  /** A body that ends without the final blank line still delivered its last frame. */
  end(): void {
    if (this.lineLen > 0) this.endLine();
    if (this.frameHasLines) this.emit(-1);
  }

  private endLine(): void {
    this.frameHasLines = true;
    const len = Math.min(this.captured, CAPTURE);
    const first = this.scratch[0];
    if (first === 0x7b /* { */ || first === 0x5b /* [ */) {
      this.bareJsonLines++;
    } else if (len >= EVENT.length && this.scratch.subarray(0, EVENT.length).equals(EVENT)) {
      this.event = this.scratch.toString('latin1', EVENT.length, len).trim();
    } else if (!this.sawData && first === 0x64 /* d */) {
      const head = this.scratch.toString('latin1', 0, len);
      if (head.startsWith('data:')) {
        this.sawData = true;
        this.isError = DATA_ERROR.test(head);
      }
    }
    this.lineLen = 0;
    this.captured = 0;
  }

  private emit(end: number): void {
    const frame: SseFrame = { event: this.event, isError: this.isError, pieces: this.pieces, end };
    this.pieces = [];
    this.frameHasLines = false;
    this.event = null;
    this.isError = false;
    this.sawData = false;
    this.frames++;
    this.onFrame(frame);
  }
}

/** The frame's data payload (data: lines joined by \n, per the SSE spec), decoded once as UTF-8. */
export function frameData(pieces: Buffer[]): string {
  const text = (pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces)).toString('utf8');
  const out: string[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line.startsWith('data:')) out.push(line.slice(line[5] === ' ' ? 6 : 5));
  }
  return out.join('\n');
}

/**
 * Whether a needle occurs in the frame, including across piece boundaries however small the pieces
 * are. Only a needle-sized tail is carried between pieces, so large frames are never copied.
 */
export function piecesInclude(pieces: Buffer[], needle: Buffer): boolean {
  if (pieces.length === 1) return pieces[0]!.includes(needle);
  const k = needle.length - 1;
  let carry: Buffer = Buffer.alloc(0);
  for (const piece of pieces) {
    if (piece.includes(needle)) return true;
    const joined = Buffer.concat([carry, piece.subarray(0, k)]);
    if (joined.includes(needle)) return true;
    const tail = piece.length >= k ? piece.subarray(piece.length - k) : Buffer.concat([carry, piece]);
    carry = tail.length > k ? tail.subarray(tail.length - k) : tail;
  }
  return false;
}
