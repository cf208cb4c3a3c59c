#!/usr/bin/env python3
"""Paired A/B of servers that run side by side: all start at once pinned to CPU 0 (an
unloaded server costs nothing), and wrk (CPU 1) loads them in turn, a short run each, the
order flipping every round. On this VM the speed of the machine drifts by 2x over tens of
seconds; short paired runs put A and B in the same phase, and the ratio is taken per
round before the median. Server CPU is utime+stime from /proc/PID/stat.

  bench/ab_pair.py --rounds 20 --seconds 2 -c256 \\
      'A=build/a/examples/hello --backend uring --access-log off --port {port}' \\
      'B=build/b/examples/hello --backend uring --access-log off --port {port}'

Prints each round's requests per server CPU-second, then per contender the medians of
that, of req/s and of wrk's p50/p99 latency, and per contender after the first the median
of its per-round ratios to the first (requests per CPU-second, and req/s).
"""
import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time

import hbench  # bench/run's parsers of /proc and of wrk's output

TICK = hbench.CLK_TCK


def cpu_ticks(pid: int) -> int:
    """utime+stime of `pid` and its children (nginx's master and worker), in clock ticks."""
    return sum(hbench.tree_cpu_ticks(hbench.proc_tree(pid)))


def machine() -> str:
    """CPU model, count and kernel: what the figures were measured on."""
    return f"{hbench.cpu_model()}, {os.cpu_count()} CPUs, kernel {os.uname().release}"


def wrk(port: int, conns: int, seconds: int, extra: list[str], path: str = "/") -> tuple[int, float, float]:
    """Requests, p50 and p99 latency (ms) of one wrk run."""
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", *extra,
                          f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=seconds + 30).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> tuple[int, float, float]:
    """Requests, p50 and p99 (ms) from `wrk --latency` output."""
    try:
        w = hbench.parse_wrk(out)
    except ValueError as e:
        raise RuntimeError(str(e)) from None
    lat = w["latency_ms"]
    # wrk prints no usable percentiles under a pipelining script (0.00us, as bench/run
    # finds): those runs report NaN latency and still count requests.
    return w["requests"], lat.get(50.0, float("nan")), lat.get(99.0, float("nan"))


def split_wrk_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """Our arguments, and everything after the first "--", which goes to wrk as it is
    (argparse would hand "-s" and a script to the list of servers)."""
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("servers", nargs="+", help="LABEL=COMMAND, {port} replaced by the server's port")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=2, help="wrk run per server per round (whole seconds: wrk takes no fractions)")
    ap.add_argument("-c", "--conns", type=int, default=256)
    ap.add_argument("--base-port", type=int, default=18400)
    ap.add_argument("--path", default="/", help="what wrk asks for (default /)")
    ap.add_argument("wrk_args", nargs="*", help="after --: more wrk arguments (e.g. -- -s pipeline.lua)")
    ours, extra = split_wrk_args(sys.argv[1:])
    a = ap.parse_args(ours)
    procs = []
    labels = []
    try:
        for i, spec in enumerate(a.servers):
            label, cmd = spec.split("=", 1)
            port = a.base_port + i
            p = subprocess.Popen(["taskset", "-c", "0", *shlex.split(cmd.replace("{port}", str(port)))],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append((label, p, port))
            labels.append(label)
        time.sleep(0.5)
        for label, p, port in procs:
            if p.poll() is not None:
                raise SystemExit(f"{label} exited at start")
            wrk(port, a.conns, 1, extra, a.path)  # warm: connections, caches
        per = {label: [] for label in labels}
        rps = {label: [] for label in labels}
        p50 = {label: [] for label in labels}
        p99 = {label: [] for label in labels}
        ratios = {label: [] for label in labels[1:]}
        rps_ratios = {label: [] for label in labels[1:]}
        for r in range(a.rounds):
            order = procs if r % 2 == 0 else procs[::-1]
            got = {}
            for label, p, port in order:
                t0 = cpu_ticks(p.pid)
                n, l50, l99 = wrk(port, a.conns, a.seconds, extra, a.path)
                t1 = cpu_ticks(p.pid)
                got[label] = n * TICK / max(t1 - t0, 1)
                per[label].append(got[label])
                rps[label].append(n / a.seconds)
                p50[label].append(l50)
                p99[label].append(l99)
            for label in labels[1:]:
                ratios[label].append(got[label] / got[labels[0]])
                rps_ratios[label].append(rps[label][-1] / rps[labels[0]][-1])
            print(f"round {r + 1:2d}: " + "  ".join(f"{label} {got[label]:9,.0f}" for label in labels), flush=True)
        print(f"\n{machine()}, server on CPU 0, wrk on CPU 1")
        print(f"rerun: {' '.join(shlex.quote(x) for x in sys.argv)}")
        print(f"requests per server CPU-second, c{a.conns}, {a.rounds} rounds of {a.seconds} s, median:")
        for label in labels:
            print(f"  {label}: {statistics.median(per[label]):,.0f}   (req/s {statistics.median(rps[label]):,.0f},"
                  f" p50 {statistics.median(p50[label]):.2f} ms, p99 {statistics.median(p99[label]):.2f} ms)")
        for label in labels[1:]:
            rs, qs = sorted(ratios[label]), sorted(rps_ratios[label])
            print(f"  {label}/{labels[0]}: median {statistics.median(rs):.3f} "
                  f"(quartiles {rs[len(rs) // 4]:.3f}-{rs[(3 * len(rs)) // 4]:.3f}); "
                  f"req/s {statistics.median(qs):.3f} ({qs[len(qs) // 4]:.3f}-{qs[(3 * len(qs)) // 4]:.3f})")
    finally:
        for _, p, _ in procs:
            p.terminate()
        for _, p, _ in procs:
            p.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
