#!/usr/bin/env bash
# Does one fast download hold up everyone else? A client downloads a 1 GiB cached file
# back to back with curl while a second client sends a small GET every 10 ms on one
# keep-alive connection; prints the second client's p50 / p99 / max latency. Server on
# CPU 0, both clients on CPU 1. With a per-turn bound on what a task may do at once
# (runtime/include/hellepoll/scheduler.hpp) the max is a few ms, as with nginx.
#   bench/fair_latency.sh BUILD_DIR BACKEND        e.g. bench/fair_latency.sh build/bench uring
#   bench/fair_latency.sh nginx                    the same against nginx (sendfile on)
set -euo pipefail
port=18160
root=$(mktemp -d)
trap 'kill -TERM ${pid:-0} ${dl:-0} 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$root"' EXIT
dd if=/dev/urandom of="$root/big.bin" bs=1M count=1024 status=none
cat "$root/big.bin" >/dev/null  # in the page cache: the server never waits on the disk
echo hi >"$root/small.txt"
if [ "$1" = nginx ]; then
  cat >"$root/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1; pid $root/nginx.pid; error_log $root/error.log;
events { worker_connections 1024; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;
  client_body_temp_path $root; proxy_temp_path $root; fastcgi_temp_path $root; uwsgi_temp_path $root; scgi_temp_path $root;
  server { listen 127.0.0.1:$port; root $root; } }
CONF
  label=nginx
  taskset -c 0 nginx -c "$root/nginx.conf" -p "$root" >/dev/null 2>&1 &
else
  label="hellepoll $2"
  taskset -c 0 "$1/examples/hellepoll" serve "$root" --port $port --backend "$2" --access-log off >/dev/null 2>&1 &
fi
pid=$!
sleep 0.3
(end=$((SECONDS + 8)); while [ $SECONDS -lt $end ]; do taskset -c 1 curl -s -o /dev/null "http://127.0.0.1:$port/big.bin"; done) &
dl=$!
sleep 0.5
taskset -c 1 python3 - "$port" "$label" <<'PY'
import socket, sys, time
port, label = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
lat = []
for _ in range(300):
    t = time.perf_counter()
    s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = b""
    while not buf.endswith(b"hi\n"):
        d = s.recv(4096)
        if not d:
            sys.exit("the server closed the probe connection")
        buf += d
    lat.append((time.perf_counter() - t) * 1000)
    time.sleep(0.01)
lat.sort()
print(f"{label}: a small GET every 10 ms beside a 1 GiB download loop: "
      f"p50 {lat[150]:.2f} ms, p99 {lat[297]:.2f} ms, max {lat[-1]:.2f} ms (300 requests)")
PY
