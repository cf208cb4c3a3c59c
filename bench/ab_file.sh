#!/usr/bin/env bash
# One quick A/B data point for static files: requests per second of server CPU time for
# `hellepoll serve` of a given build, serving one file of SIZE bytes, server pinned to
# CPU 0, wrk to CPU 1 (1 s warm-up, then 3 s measured). Interleave calls for A and B and
# compare medians; bench/run is the full comparison.
#   bench/ab_file.sh LABEL BUILD_DIR BACKEND [SIZE] [wrk args...]
#   bench/ab_file.sh after build/ab-after epoll 4096 -c64
set -euo pipefail
label=$1 dir=$2 backend=$3 size=${4:-4096}
shift $(( $# >= 4 ? 4 : 3 ))
[ $# -gt 0 ] || set -- -c64
root=$(mktemp -d)
head -c "$size" /dev/urandom >"$root/file"
port=18102
taskset -c 0 "$dir/examples/hellepoll" serve "$root" --port $port --backend "$backend" --access-log off >/dev/null 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$root"' EXIT
sleep 0.3
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }  # utime+stime in clock ticks
taskset -c 1 wrk -t1 -d1s "$@" "http://127.0.0.1:$port/file" >/dev/null 2>&1
t0=$(cpu)
out=$(taskset -c 1 wrk -t1 -d3s "$@" "http://127.0.0.1:$port/file" 2>&1)
t1=$(cpu)
req=$(awk '/requests in/ {print $1}' <<<"$out")
echo "$label $backend requests=$req server_cpu_ticks=$((t1 - t0)) req_per_cpu_s=$((req * $(getconf CLK_TCK) / (t1 - t0)))"
