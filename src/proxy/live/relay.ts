import type { RawData, WebSocket } from 'ws';

/** Above this many queued bytes on one side, the other side's socket stops being read. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

export interface RelayHooks {
  /**
   * A client frame, before it goes upstream. Return false to drop it (the hook has closed the
   * session, or holds the frame back itself).
   */
  fromClient(data: Buffer, isBinary: boolean): boolean;
  /** A server frame, after it was handed to the client socket. */
  fromServer(data: Buffer, isBinary: boolean): void;
  /** A close reason as received from either side, made fit to pass on and record. */
  closeReason(reason: string): string;
  /** Called once, when both sockets are done with: who closed first, with which code and reason. */
  ended(end: RelayEnd): void;
}

export interface RelayEnd {
  by: 'client' | 'upstream' | 'gateway';
  code: number;
  reason: string;
  bytesIn: number;
  bytesOut: number;
}

export interface Relay {
  /** Sends a frame upstream outside the normal flow (a setup the gateway had to hold or rewrite). */
  sendUpstream(data: Buffer | string, isBinary: boolean): void;
  /** The gateway ends the session: the client gets code and reason, upstream is closed normally. */
  close(code: number, reason: string): void;
}

/**
 * Joins two open sockets frame for frame: text stays text, binary stays binary, bytes are never
 * re-encoded, and order is kept per direction. Each direction has backpressure — when the receiving
 * side has more than HIGH_WATER bytes queued, the sending side is paused until it drains. Pings
 * and pongs are passed through (autoPong is off on both sockets), and a close on either side is
 * given to the other with the same code and reason.
 */
export function relay(client: WebSocket, upstream: WebSocket, hooks: RelayHooks): Relay {
  let bytesIn = 0;
  let bytesOut = 0;
  let firstClose: Omit<RelayEnd, 'bytesIn' | 'bytesOut'> | null = null;

  const pipe = (src: WebSocket, dst: WebSocket, onFrame: (data: Buffer, isBinary: boolean) => boolean) => {
    src.on('message', (raw: RawData, isBinary: boolean) => {
      const data = toBuffer(raw);
      if (!onFrame(data, isBinary)) return;
      send(src, dst, data, isBinary);
    });
    src.on('ping', (data) => dst.readyState === dst.OPEN && dst.ping(data));
    src.on('pong', (data) => dst.readyState === dst.OPEN && dst.pong(data));
  };

  function send(src: WebSocket | null, dst: WebSocket, data: Buffer | string, isBinary: boolean): void {
    if (dst.readyState !== dst.OPEN) return;
    dst.send(data, { binary: isBinary }, () => {
      if (src?.isPaused && dst.bufferedAmount < LOW_WATER) src.resume();
    });
    if (src && dst.bufferedAmount > HIGH_WATER && !src.isPaused) src.pause();
  }

  pipe(client, upstream, (data, isBinary) => {
    bytesIn += data.length;
    return hooks.fromClient(data, isBinary);
  });
  pipe(upstream, client, (data, isBinary) => {
    bytesOut += data.length;
    return true;
  });
  // Metering sees a server frame after it was queued for the client, so a hard cap delivers the
  // frame that crossed the budget and then closes.
  upstream.on('message', (raw: RawData, isBinary: boolean) => hooks.fromServer(toBuffer(raw), isBinary));

  let closes = 0;
  const onClose = (side: 'client' | 'upstream', other: WebSocket) => (code: number, reasonBuf: Buffer) => {
    closes++;
    if (!firstClose) {
      firstClose = { by: side, code, reason: hooks.closeReason(reasonBuf.toString('utf8')) };
      passClose(other, code, firstClose.reason);
    }
    // A peer that never answers the close handshake is dropped after a grace period.
    if (closes === 1) setTimeout(() => other.readyState !== other.CLOSED && other.terminate(), 5000).unref();
    if (closes === 2) hooks.ended({ ...firstClose, bytesIn, bytesOut });
  };
  client.on('close', onClose('client', upstream));
  upstream.on('close', onClose('upstream', client));
  // A socket error is followed by its close event; listening here keeps it from being thrown.
  client.on('error', () => client.terminate());
  upstream.on('error', () => upstream.terminate());

  return {
    sendUpstream(data, isBinary) {
      send(client, upstream, data, isBinary);
    },
    close(code, reason) {
      firstClose ??= { by: 'gateway', code, reason };
      passClose(client, code, reason);
      passClose(upstream, CLOSE_NORMAL, '');
    },
  };
}

const CLOSE_NORMAL = 1000;

/**
 * Closes `ws` the way the other side closed: 1005 (no code was sent) closes without a code, and
 * 1006 (the connection dropped without a close frame) drops this one too.
 */
function passClose(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === ws.CLOSED || ws.readyState === ws.CLOSING) return;
  // A socket paused for backpressure would never read the peer's answer to the close frame.
  if (ws.isPaused) ws.resume();
  if (code === 1005) ws.close();
  else if (code === 1006 || !sendable(code)) ws.terminate();
  else ws.close(code, reason);
}

function sendable(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014 && code !== 1010) || (code >= 3000 && code <= 4999);
}

function toBuffer(raw: RawData): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (Array.isArray(raw)) return Buffer.concat(raw);
  return Buffer.from(raw);
}
