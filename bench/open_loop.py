#!/usr/bin/env python3
"""Latency at a fixed request rate (open loop), which wrk cannot show: wrk sends the next
request only when the last reply is in, so a server that holds replies back slows wrk's
clock with it and its latency looks unchanged. Here requests leave at RATE per second,
spread round-robin over CONNS keep-alive connections (a connection whose last request is
still unanswered skips its turn, counted as skipped), and each reply's time is measured
from its request. Python's own cost is in every figure (~100 us here): compare servers or
settings with each other, not with zero. Run it pinned away from the server:

  taskset -c 1 bench/open_loop.py PORT CONNS RATE SECONDS
  taskset -c 1 bench/open_loop.py 8080 64 20000 3
"""
import select
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
REPLY_END = b"Hello, World!"  # the hello server's body: a reply is complete when it ends so


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    port, conns, rate, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    socks = []
    for _ in range(conns):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        socks.append(s)
    ep = select.epoll()
    by_fd = {s.fileno(): s for s in socks}
    for fd in by_fd:
        ep.register(fd, select.EPOLLIN)
    sent_at, got, latencies = {}, {fd: b"" for fd in by_fd}, []
    interval = 1.0 / rate
    next_send = time.perf_counter()
    end = next_send + seconds
    turn = skipped = 0
    while time.perf_counter() < end:
        while time.perf_counter() >= next_send:
            s = socks[turn % conns]
            turn += 1
            next_send += interval
            if s.fileno() in sent_at:
                skipped += 1
                continue
            sent_at[s.fileno()] = time.perf_counter()
            s.send(REQUEST)
        for fd, _ in ep.poll(max(0.0, next_send - time.perf_counter())):
            data = by_fd[fd].recv(65536)
            if not data:
                raise SystemExit("the server closed a connection")
            got[fd] += data
            if got[fd].endswith(REPLY_END):
                latencies.append(time.perf_counter() - sent_at.pop(fd))
                got[fd] = b""
    latencies.sort()
    n = len(latencies)
    if n == 0:
        raise SystemExit("no replies")
    pick = lambda q: latencies[min(n - 1, int(n * q))] * 1e6  # noqa: E731
    print(f"{conns} conns, {rate:.0f} req/s for {seconds:.0f} s: {n} replies, {skipped} skipped; "
          f"p50 {pick(0.5):.0f} us, p90 {pick(0.9):.0f} us, p99 {pick(0.99):.0f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
