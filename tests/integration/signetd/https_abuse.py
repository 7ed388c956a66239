#!/usr/bin/env python3
"""Raw-socket abusers for https_abuse.sh (stdlib only, loopback only).

Each subcommand holds or trickles connections from a source address
(127.0.0.x, so the per-source limit sees a different client than the
curl that must still be served) and prints key=value results.  Every loop
is bounded in count and in time.
"""
import socket
import ssl
import sys
import time


def connect(src, port, timeout=1.0):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def closed(s):
    """Whether the server ended the connection (EOF or reset)."""
    try:
        s.setblocking(False)
        return s.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def hold(src, port, n, secs):
    """n idle TCP connections; how many the server keeps after secs."""
    socks, failed = [], 0
    deadline = time.monotonic() + 20
    for _ in range(n):
        if time.monotonic() > deadline:
            break
        try:
            socks.append(connect(src, port, 0.5))
        except OSError:
            failed += 1
    time.sleep(secs)
    alive = sum(1 for s in socks if not closed(s))
    print(f"opened={len(socks)} failed={failed} open_after={alive}")
    sys.stdout.flush()
    return socks


def hold_many(first, last, port, per, secs, keep):
    """per connections from each of 127.0.0.first..last, kept keep s."""
    socks = []
    for i in range(first, last + 1):
        for _ in range(per):
            try:
                socks.append(connect(f"127.0.0.{i}", port, 0.5))
            except OSError:
                pass
    time.sleep(secs)
    alive = sum(1 for s in socks if not closed(s))
    print(f"opened={len(socks)} open_after={alive}")
    sys.stdout.flush()
    time.sleep(keep)


def lifetimes(socks, start, limit):
    """Seconds until the server closed each socket (limit if never)."""
    out = [None] * len(socks)
    while time.monotonic() - start < limit and None in out:
        for i, s in enumerate(socks):
            if out[i] is None and closed(s):
                out[i] = time.monotonic() - start
        time.sleep(0.1)
    return [limit if t is None else t for t in out]


def slowloris(src, port, n, limit):
    """TLS, then a request head one byte a second; when is each closed?"""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    socks = []
    start = time.monotonic()
    for _ in range(n):
        s = ctx.wrap_socket(connect(src, port, 2.0))
        s.sendall(b"GET /.well-known/est/cacerts HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    ended = [None] * n
    sent = 0
    while time.monotonic() - start < limit and None in ended:
        for i, s in enumerate(socks):
            if ended[i] is not None:
                continue
            try:
                s.settimeout(0.05)
                s.sendall(b"X")
                if s.recv(1, ) == b"":
                    ended[i] = time.monotonic() - start
            except (socket.timeout, ssl.SSLWantReadError):
                pass
            except OSError:
                ended[i] = time.monotonic() - start
        sent += 1
        time.sleep(1.0)
    life = [limit if t is None else t for t in ended]
    print(f"conns={n} bytes_each={sent} max_life={max(life):.1f} "
          f"min_life={min(life):.1f}")


def silent(src, port, n, limit):
    """n connections that never send a byte; when is each closed?"""
    socks = [connect(src, port, 2.0) for _ in range(n)]
    start = time.monotonic()
    life = lifetimes(socks, start, limit)
    print(f"conns={n} max_life={max(life):.1f} min_life={min(life):.1f}")


def raw(src, port, request, limit):
    """One raw request on plain HTTP; prints the status line."""
    s = connect(src, port, limit)
    s.sendall(request.encode().decode("unicode_escape").encode("latin-1"))
    data = b""
    try:
        while len(data) < 65536:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except OSError:
        pass
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    body = data.split(b"\r\n\r\n", 1)[-1][:80].decode("latin-1").strip()
    print(f"status={line.replace(' ', '_')} body={body!r}")


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "hold":
        hold(a[0], int(a[1]), int(a[2]), float(a[3]))
        time.sleep(float(a[4]))
    elif cmd == "hold_many":
        hold_many(int(a[0]), int(a[1]), int(a[2]), int(a[3]),
                  float(a[4]), float(a[5]))
    elif cmd == "slowloris":
        slowloris(a[0], int(a[1]), int(a[2]), float(a[3]))
    elif cmd == "silent":
        silent(a[0], int(a[1]), int(a[2]), float(a[3]))
    elif cmd == "raw":
        raw(a[0], int(a[1]), a[2], float(a[3]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
