#!/usr/bin/env python3
"""Raw-socket abusers for https_abuse.sh (stdlib only, loopback only).

Each subcommand holds or trickles connections from a source address
(127.0.0.x, so the per-source limit sees a different client than the
curl that must still be served) and prints key=value results.  Every loop
is bounded in count and in time.

The results are events, not durations, so that a loaded machine (CI's
two cores, other tests beside) slows them down without changing them:
the floods print their line once the server has settled (at most `cap`
connections alive, or `settle` seconds gone) and then hold until the
script, having run its legitimate client, creates the stop file (or
`keep` seconds, a bound); the deadline abusers report how many
connections the server closed before a generous limit, not how fast.
"""
import os
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


def alive(socks):
    return sum(1 for s in socks if not closed(s))


def settle(socks, cap, secs):
    """Waits until at most cap of socks are alive or secs have passed."""
    deadline = time.monotonic() + secs
    n = alive(socks)
    while n > cap and time.monotonic() < deadline:
        time.sleep(0.2)
        n = alive(socks)
    return n


def wait_stop(stop, keep):
    """Holds until the file stop exists, keep seconds at most."""
    deadline = time.monotonic() + keep
    while not os.path.exists(stop) and time.monotonic() < deadline:
        time.sleep(0.1)


def hold(src, port, n, cap, secs, stop, keep):
    """n idle TCP connections; how many the server keeps (waiting up to
    secs for it to drop all but cap); then held until stop."""
    socks, failed = [], 0
    deadline = time.monotonic() + 30
    for _ in range(n):
        if time.monotonic() > deadline:
            break
        try:
            socks.append(connect(src, port, 0.5))
        except OSError:
            failed += 1
    kept = settle(socks, cap, secs)
    print(f"opened={len(socks)} failed={failed} open_after={kept}")
    sys.stdout.flush()
    wait_stop(stop, keep)


def hold_many(first, last, port, per, stop, keep):
    """per connections from each of 127.0.0.first..last, held until
    stop."""
    socks = []
    for i in range(first, last + 1):
        for _ in range(per):
            try:
                socks.append(connect(f"127.0.0.{i}", port, 0.5))
            except OSError:
                pass
    print(f"opened={len(socks)} open_after={alive(socks)}")
    sys.stdout.flush()
    wait_stop(stop, keep)


def lifetimes(socks, start, limit):
    """Seconds until the server closed each socket (None if it did not
    within limit)."""
    out = [None] * len(socks)
    while time.monotonic() - start < limit and None in out:
        for i, s in enumerate(socks):
            if out[i] is None and closed(s):
                out[i] = time.monotonic() - start
        time.sleep(0.1)
    return out


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
    done = [t for t in ended if t is not None]
    print(f"conns={n} closed={len(done)} bytes_each={sent} "
          f"max_life={max(done, default=limit):.1f} "
          f"min_life={min(done, default=limit):.1f}")


def silent(src, port, n, limit):
    """n connections that never send a byte; when is each closed?"""
    socks = [connect(src, port, 2.0) for _ in range(n)]
    start = time.monotonic()
    done = [t for t in lifetimes(socks, start, limit) if t is not None]
    print(f"conns={n} closed={len(done)} "
          f"max_life={max(done, default=limit):.1f} "
          f"min_life={min(done, default=limit):.1f}")


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
        hold(a[0], int(a[1]), int(a[2]), int(a[3]), float(a[4]), a[5],
             float(a[6]))
    elif cmd == "hold_many":
        hold_many(int(a[0]), int(a[1]), int(a[2]), int(a[3]), a[4],
                  float(a[5]))
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
