"""What a big directory listing costs the other clients of its thread. Starts `BINARY
serve --listing` (examples/hellepoll, one thread, pinned to CPU 0) on 127.0.0.1:PORT over
a temporary site holding a directory of ENTRIES empty files, then for SECONDS two client
processes fetch that listing in a loop while a probe fetches a small file every 5 ms on a
keep-alive connection of its own (clients pinned to CPU 1). Prints the probe's latency
quantiles and the server's CPU time per listing. Bounded; stops by itself.
  python3 bench/listing_stall.py build/bench/examples/hellepoll uring 18803 [ENTRIES] [SECONDS]"""
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hbench import cpu_seconds, parse_stat_line, wait_listening


def fetch(sock, path):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head, body = buf.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"{path}: {head.splitlines()[0].decode()}")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    parts, got = [body], len(body)
    while got < length:
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise RuntimeError(f"{path}: closed mid-body")
        parts.append(chunk)
        got += len(chunk)


def lister(port, until, counter):
    with socket.create_connection(("127.0.0.1", port)) as sock:
        while time.monotonic() < until:
            fetch(sock, "/d/")
            with counter.get_lock():
                counter.value += 1


def cpu_sample(pid):
    return parse_stat_line(Path(f"/proc/{pid}/stat").read_text())


def main():
    binary, backend, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    entries = int(sys.argv[4]) if len(sys.argv) > 4 else 50_000
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 4.0
    site = tempfile.mkdtemp(prefix="hellepoll-listing-")
    os.mkdir(os.path.join(site, "d"))
    for i in range(entries):
        open(os.path.join(site, "d", f"file-with-a-longish-name-{i:06d}.txt"), "w").close()
    Path(site, "small.txt").write_text("hi\n")
    server = subprocess.Popen(["taskset", "-c", "0", binary, "serve", site, "--port", str(port), "--backend",
                               backend, "--threads", "1", "--listing", "--access-log", "off"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        os.sched_setaffinity(0, {1})
        wait_listening(port, server, Path(os.devnull))
        counter = multiprocessing.Value("i", 0)
        until = time.monotonic() + seconds
        before = cpu_sample(server.pid)
        listers = [multiprocessing.Process(target=lister, args=(port, until, counter)) for _ in range(2)]
        for p in listers:
            p.start()
        latencies = []
        with socket.create_connection(("127.0.0.1", port)) as probe:
            while time.monotonic() < until:
                start = time.monotonic()
                fetch(probe, "/small.txt")
                latencies.append((time.monotonic() - start) * 1000)
                time.sleep(0.005)
        for p in listers:
            p.join()
        cpu_ms = cpu_seconds(before, cpu_sample(server.pid), os.sysconf("SC_CLK_TCK")) * 1000
        q = statistics.quantiles(latencies, n=100)
        print(f"{os.path.basename(binary)} {backend}, {entries:,} entries, {seconds:g} s: probe {len(latencies)} "
              f"fetches, p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms, max {max(latencies):.1f} ms; "
              f"{counter.value} listings, {cpu_ms / max(counter.value, 1):.0f} ms of server CPU each")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(site, ignore_errors=True)


if __name__ == "__main__":
    main()
