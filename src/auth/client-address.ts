import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** The address of the client behind a request: the socket's peer, or what trusted proxies say it was. */
export type ClientAddress = (incoming: IncomingMessage) => string;

/** Parses TRUSTED_PROXIES entries (`10.0.0.0/8`, `::1`, …); throws naming the first bad one. */
export function parseCidrs(list: string[]): BlockList {
  const block = new BlockList();
  for (const entry of list) {
    const [addr = '', bits] = entry.split('/');
    const type = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : null;
    const max = type === 'ipv4' ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (!type || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) throw new Error(`not a CIDR: ${entry}`);
    block.addSubnet(addr, prefix, type);
  }
  return block;
}

function trusted(block: BlockList, address: string): boolean {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (v4) return block.check(v4, 'ipv4');
  if (isIPv4(address)) return block.check(address, 'ipv4');
  return isIPv6(address) && block.check(address, 'ipv6');
}

/**
 * X-Forwarded-For is believed only from a peer in `proxies`. Its entries are read from the right
 * (each proxy appends the address it saw), skipping trusted proxies; the first address that is not
 * one is the client. Anything left of it was written by the client and proves nothing. From any
 * other peer the header is ignored and the peer is the client.
 */
export function createClientAddress(proxies: BlockList | null): ClientAddress {
  if (!proxies) return (incoming) => incoming.socket?.remoteAddress ?? '';
  return (incoming) => {
    const peer = incoming.socket?.remoteAddress ?? '';
    if (!trusted(proxies, peer)) return peer;
    const header = incoming.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((s) => s.trim()).filter(Boolean);
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (!isIPv4(hop) && !isIPv6(hop)) break;
      client = hop;
      if (!trusted(proxies, hop)) break;
    }
    return client;
  };
}
