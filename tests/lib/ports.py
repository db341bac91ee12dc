#!/usr/bin/env python3
"""Free loopback TCP ports for the servers a test starts.

A port is chosen below the kernel's ephemeral range (ip_local_port_range), not by binding port 0:
a port-0 port comes from the ephemeral range, where, between choosing it and the server binding
it, any process's outgoing connection or port-0 listener can take it (a three-node cluster test
lost its second node's port that way in CI). Ports handed out by one process are distinct.

As a script: `ports.py [N]` prints N distinct free ports, one per line.
"""

import random
import socket
import sys

_LOWEST = 10000
_given = set()
_rng = random.SystemRandom()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A port on 127.0.0.1 that nothing holds now, outside the ephemeral range."""
    high = _ephemeral_low() - 1
    low = _LOWEST if high - _LOWEST >= 1000 else 1024
    for _ in range(2000):
        port = _rng.randint(low, high)
        if port in _given:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        _given.add(port)
        return port
    raise RuntimeError(f"no free port on 127.0.0.1 in {low}-{high}")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    for _ in range(count):
        print(free_port())
