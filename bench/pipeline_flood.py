"""Server memory held by clients that pipeline GETs without ever reading the replies (a
hostile client's cheapest way to make a server buffer). Starts BINARY (the hello example)
on 127.0.0.1:PORT pinned to CPU 0, opens CONNS connections with a 4 KiB receive buffer,
sends pipelined GET / on each for SECONDS without reading, and prints the server's RSS
growth per connection. Bounded; stops by itself.
  python3 bench/pipeline_flood.py build/bench/examples/hello uring 18600 [CONNS] [SECONDS]"""
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

from hbench import parse_status_kib, wait_listening

binary, backend, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
conns = int(sys.argv[4]) if len(sys.argv) > 4 else 100
seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
server = subprocess.Popen(["taskset", "-c", "0", binary, "--port", str(port), "--backend", backend,
                           "--access-log", "off"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def rss_kib():
    return parse_status_kib(Path(f"/proc/{server.pid}/status").read_text(), "VmRSS")


try:
    wait_listening(port, server, Path(os.devnull))
    before = rss_kib()
    socks = []
    for _ in range(conns):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        socks.append(s)
    burst = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 1000
    sent = 0
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        _, writable, _ = select.select([], socks, [], 0.05)
        for s in writable:
            try:
                sent += s.send(burst)
            except OSError:
                pass
    after = rss_kib()
    print(f"{os.path.basename(binary)} on {backend}: {conns} connections pipelining for {seconds:g} s without "
          f"reading ({sent / 1e6:.0f} MB sent): server RSS {before:,} -> {after:,} KiB, "
          f"{(after - before) / conns:.0f} KiB per connection")
    for s in socks:
        s.close()
finally:
    server.terminate()
    server.wait()
