#!/usr/bin/env python3
"""Free loopback ports for a test: one per argument ("tcp" or "udp"),
distinct, printed on one line.

Chosen at random BELOW the kernel's ephemeral range
(net.ipv4.ip_local_port_range), never from it: a port the kernel hands
out for bind(("127.0.0.1", 0)) is one it also hands to every outgoing
connection, so between this script closing it and the daemon binding it
a concurrent test's curl or PostgreSQL connection could take it
("Address already in use": seen in cluster_acme_pgsql under ctest -j3).
Ports below the range are only ever taken by an explicit bind, so a
collision needs another test to draw the same number in the same
second.  Each is checked by binding it, and all are held until all are
chosen, so they are distinct.
"""
import random
import socket
import sys

LO = 20000
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        HI = int(f.read().split()[0]) - 1
except (OSError, ValueError, IndexError):
    HI = 32767
if HI - LO < 1000:
    LO = 1024

held, out = [], []
for kind in sys.argv[1:] or ["tcp"]:
    t = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    for _ in range(1000):
        p = random.randint(LO, HI)
        if p in out:
            continue
        s = socket.socket(socket.AF_INET, t)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            s.close()
            continue
        held.append(s)
        out.append(p)
        break
    else:
        sys.exit("ports.py: no free %s port in %d..%d" % (kind, LO, HI))
print(*out)
