#!/usr/bin/env bash
# User-space instructions per request of the hello server, counted by callgrind: a
# deterministic figure for user-space changes, which this noisy 2-CPU VM cannot resolve
# with wrk (two runs of the same build agree to 0.1%; wrk rounds vary by 10%). Kernel time
# is not counted: use bench/ab_hello.sh for whole-server figures.
#   bench/callgrind_hello.sh BUILD_DIR [BACKEND] [CONNS DEPTH ROUNDS]
#   bench/callgrind_hello.sh build/bench uring 16 16 40   # pipelined, the default
#   bench/callgrind_hello.sh build/bench uring 64 1 100   # keep-alive, one at a time
# Prints the total and per-request count, the top functions by their own instructions per
# request (bench/callgrind_self.py), and leaves the profile (uncompressed names, so the dump
# taken mid-run is readable on its own).
# CALLGRIND_OPTS adds valgrind options, e.g. simulated cache misses per request (the dump is
# taken mid-run, so this works on io_uring, unlike cachegrind, which writes only at exit):
#   CALLGRIND_OPTS="--cache-sim=yes --LL=524288,8,64" bench/callgrind_hello.sh build/bench uring 256 1 40
# CALLGRIND_FLOOR=1 profiles bench/floor_uring under the same load instead (BACKEND is
# ignored): what the least an HTTP server can do costs in user space.
# CALLGRIND_SERVE="DIR /PATH" profiles `hellepoll serve DIR` answering GET /PATH instead:
#   CALLGRIND_SERVE="/tmp/site /4k.bin" bench/callgrind_hello.sh build/bench uring 64 1 40
set -euo pipefail
dir=$1 backend=${2:-uring} conns=${3:-16} depth=${4:-16} rounds=${5:-40}
port=18131
out=$(mktemp -d /tmp/hellepoll-callgrind.XXXXXX)
path=()
if [ -n "${CALLGRIND_FLOOR:-}" ]; then
  server=("$dir/bench/floor_uring" --port $port)
elif [ -n "${CALLGRIND_SERVE:-}" ]; then
  read -r root file <<<"$CALLGRIND_SERVE"
  server=("$dir/examples/hellepoll" serve "$root" --port $port --backend "$backend" --access-log off)
  path=("$file")
else
  server=("$dir/examples/hello" --port $port --backend "$backend" --access-log off)
fi
valgrind --tool=callgrind ${CALLGRIND_OPTS:-} --compress-strings=no --callgrind-out-file="$out/callgrind.out" \
  "${server[@]}" >/dev/null 2>"$out/valgrind.log" &
pid=$!
trap 'kill -KILL $pid 2>/dev/null || true' EXIT
load() { python3 "$(dirname "$0")/pipelined_load.py" $port "$@" "${path[@]}"; }
for _ in $(seq 100); do load 1 1 1 >/dev/null 2>&1 && break; sleep 0.2; done  # up, and warm
callgrind_control -z $pid >/dev/null
load "$conns" "$depth" "$rounds" >/dev/null
callgrind_control -d $pid >/dev/null
sleep 0.5
ir=$(callgrind_annotate "$out/callgrind.out.1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
requests=$((conns * depth * rounds))
echo "$(basename "${server[0]}") ($dir, $backend): $ir instructions in user space for $requests requests" \
  "($conns connections, $depth deep, $rounds rounds): $((ir / requests)) per request"
python3 "$(dirname "$0")/callgrind_self.py" "$out/callgrind.out.1" "$requests" 15
echo "profile: python3 bench/callgrind_self.py $out/callgrind.out.1 $requests 40"
