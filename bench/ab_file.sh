#!/usr/bin/env bash
# One quick A/B data point for static files: requests per second of server CPU time for
# `hellepoll serve` of a given build, serving one file of SIZE bytes, server pinned to
# CPU 0, wrk to CPU 1 (1 s warm-up, then 3 s measured). Interleave calls for A and B and
# compare medians; bench/run is the full comparison.
#   bench/ab_file.sh LABEL BUILD_DIR BACKEND [SIZE] [wrk args...]
#   bench/ab_file.sh after build/ab-after epoll 4096 -c64
set -euo pipefail
source "$(dirname "$0")/ab_common.sh"
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
ab_measure "$label $backend" $pid "http://127.0.0.1:$port/file" 1 "$@"
