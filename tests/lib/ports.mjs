// Free loopback TCP ports for the servers a test starts, chosen below the kernel's ephemeral
// range like tests/lib/ports.py (see there why not port 0). Ports handed out by one process are
// distinct.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { randomInt } from 'node:crypto';

const LOWEST = 10_000;
const given = new Set();

function ephemeralLow() {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'ascii').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 32768;
  } catch {
    return 32768;
  }
}

function canBind(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export async function freePort() {
  const high = ephemeralLow() - 1;
  const low = high - LOWEST >= 1000 ? LOWEST : 1024;
  for (let i = 0; i < 2000; i++) {
    const port = randomInt(low, high + 1);
    if (given.has(port)) continue;
    if (await canBind(port)) {
      given.add(port);
      return port;
    }
  }
  throw new Error(`no free port on 127.0.0.1 in ${low}-${high}`);
}
