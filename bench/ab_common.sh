# Sourced by bench/ab_*.sh: one measured wrk run (wrk pinned to CPU 1) against a server
# already running, and the figure that counts: requests per second of that server's CPU
# time (utime+stime from /proc/PID/stat, before and after).
#   ab_measure LABEL PID URL WARMUP_SECONDS [wrk args...]
ab_measure() {
  local label=$1 pid=$2 url=$3 warmup=$4
  shift 4
  cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }  # clock ticks (comm has no spaces)
  [ "$warmup" = 0 ] || taskset -c 1 wrk -t1 -d"${warmup}s" "$@" "$url" >/dev/null 2>&1
  local t0 t1 out req
  t0=$(cpu)
  out=$(taskset -c 1 wrk -t1 -d3s "$@" "$url" 2>&1)
  t1=$(cpu)
  req=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$label requests=$req server_cpu_ticks=$((t1 - t0)) req_per_cpu_s=$((req * $(getconf CLK_TCK) / (t1 - t0)))"
}
