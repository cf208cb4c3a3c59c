"""A file server out of descriptors, with clients that keep coming back. Starts
`BINARY serve` (examples/hellepoll) on 127.0.0.1:PORT with RLIMIT_NOFILE 256 and a 100 KB
file in a temporary site, then runs CLIENTS keep-alive clients for SECONDS: each fetches
the file every 0.5 s, waits 1 s after an error reply, and reconnects when the server
closes. Prints how many requests were served and refused, and how many clients were ever
served. With `nginx` as BINARY, starts nginx (one worker, same limit and site) instead.
Bounded; stops by itself.
  python3 bench/descriptor_exhaustion.py build/bench/examples/hellepoll uring 18700 [CLIENTS] [SECONDS]
  python3 bench/descriptor_exhaustion.py nginx - 18701"""
import os
import resource
import select
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hbench import wait_listening

binary, backend, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
clients = int(sys.argv[4]) if len(sys.argv) > 4 else 300
seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 15.0
site = tempfile.mkdtemp(prefix="hellepoll-exhaustion-")
with open(os.path.join(site, "mid.bin"), "wb") as f:
    f.write(os.urandom(100_000))


def limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


if binary == "nginx":
    conf = os.path.join(site, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"daemon off; master_process off; worker_processes 1; error_log {site}/error.log; pid {site}/nginx.pid;\n"
                f"events {{ worker_connections 2048; }}\nhttp {{ access_log off; client_body_temp_path {site};\n"
                f"server {{ listen 127.0.0.1:{port}; root {site}; }} }}\n")
    argv = ["nginx", "-c", conf, "-p", site]
else:
    argv = [binary, "serve", site, "--port", str(port), "--backend", backend, "--access-log", "off"]
server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=limit)
request = b"GET /mid.bin HTTP/1.1\r\nHost: x\r\n\r\n"


class Client:
    def __init__(self):
        self.served = self.refused = 0
        self.connect()

    def connect(self):
        self.sock = socket.socket()
        self.sock.setblocking(False)
        self.sock.connect_ex(("127.0.0.1", port))
        self.buf, self.waiting, self.next = b"", False, time.monotonic() + 1

    def reply(self):
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buf[:end].decode("latin1").lower().split("\r\n")
        length = next((int(h.split(":")[1]) for h in head if h.startswith("content-length:")), 0)
        if len(self.buf) < end + 4 + length:
            return None
        self.buf = self.buf[end + 4 + length:]
        return head[0].split()[1], "connection: close" in head


try:
    wait_listening(port, server, Path(os.devnull))
    crowd = [Client() for _ in range(clients)]
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        now = time.monotonic()
        for c in crowd:
            if not c.waiting and now >= c.next:
                try:
                    c.sock.send(request)
                    c.waiting = True
                except OSError:
                    c.sock.close()
                    c.connect()
        readable, _, _ = select.select([c.sock for c in crowd if c.waiting], [], [], 0.1)
        ready = set(readable)
        for c in crowd:
            if c.sock not in ready:
                continue
            try:
                data = c.sock.recv(1 << 20)
            except OSError:
                data = b""
            if not data:
                c.sock.close()
                c.connect()
                continue
            c.buf += data
            got = c.reply()
            if got:
                status, close = got
                ok = status == "200"
                c.served += ok
                c.refused += not ok
                c.waiting, c.next = False, time.monotonic() + (0.5 if ok else 1)
                if close:
                    c.sock.close()
                    c.connect()
    print(f"{os.path.basename(binary)} {backend}, RLIMIT_NOFILE 256, {clients} clients for {seconds:g} s: "
          f"{sum(c.served for c in crowd):,} requests served, {sum(c.refused for c in crowd):,} refused, "
          f"{sum(1 for c in crowd if c.served)} clients ever served")
    for c in crowd:
        c.sock.close()
finally:
    server.terminate()
    server.wait()
    subprocess.run(["rm", "-rf", site])
