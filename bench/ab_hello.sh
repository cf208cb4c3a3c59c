#!/usr/bin/env bash
# One quick A/B data point: requests per second of server CPU time for the hello server of
# a given build, pinned to CPU 0, with wrk pinned to CPU 1. Interleave calls for A and B
# and compare medians; bench/run is the full, trustworthy comparison.
#   bench/ab_hello.sh LABEL BUILD_DIR BACKEND [wrk args...]
#   bench/ab_hello.sh before build/a uring -c256 -s bench/pipeline.lua
set -euo pipefail
source "$(dirname "$0")/ab_common.sh"
label=$1 dir=$2 backend=$3
shift 3
port=18101
taskset -c 0 "$dir/examples/hello" --port $port --backend "$backend" --access-log off >/dev/null 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
sleep 0.3
ab_measure "$label" $pid "http://127.0.0.1:$port/" 0 "$@"
