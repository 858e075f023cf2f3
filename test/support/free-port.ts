// A port a test binds later, after something else has already used it (a gateway that restarts
// on the same PUBLIC_BASE_URL, a redis-server that is stopped and started again).
// listen(0) would hand out a port from the kernel's ephemeral range, where any outgoing
// connection in a parallel test file may take it as its source port in the gap before the real
// bind (CI saw EADDRINUSE that way). Ports below that range are never handed out implicitly.
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';

const LOW = 20_000;

function ephemeralStart(): number {
  try {
    const [start] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return start! > LOW + 1000 ? start! : 32_768;
  } catch {
    return 32_768;
  }
}

const HIGH = ephemeralStart();

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port in ${LOW}–${HIGH}`);
}
