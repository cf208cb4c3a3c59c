"""The hellepoll benchmark suite behind bench/run (python3, standard library only).

Builds hellepoll in release mode, starts each contender (hellepoll on io_uring and on
epoll, nginx, h2o, and the two floor servers of bench/), drives it with wrk, and reports
what the server itself spent: requests per second of server CPU time, with the server
pinned to one core and wrk to the other, contenders interleaved round by round (every
other round in reverse), medians and within-run ratios. Then memory at scale (idle
connections, sleeping tasks) and a perf profile of the hot path. Writes a markdown
table, a PNG chart and the raw CSV.

The functions above the "running things" line are pure and are tested by
tests/bench/test_bench.py; the timing itself is not.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

CONTENDERS = ["uring", "epoll", "nginx", "h2o", "floor_uring", "floor_epoll"]
LABELS = {
    "uring": "hellepoll io_uring",
    "epoll": "hellepoll epoll",
    "nginx": "nginx",
    "h2o": "h2o",
    "floor_uring": "floor io_uring",
    "floor_epoll": "floor epoll",
}
FLOORS = {"uring": "floor_uring", "epoll": "floor_epoll"}


@dataclass(frozen=True)
class Workload:
    name: str
    kind: str  # "hello" (GET /) or "file" (GET /<file>)
    conns: int
    close: bool = False  # every request says Connection: close
    pipeline: int = 0  # requests per write (wrk Lua script), 0: none
    file: str = ""
    size: int = 0

    @property
    def path(self) -> str:
        return "/" + self.file if self.file else "/"

    def describe(self) -> str:
        if self.kind == "file":
            return f"GET {self.path} ({human_size(self.size)}), keep-alive, {self.conns} conns"
        what = "Connection: close" if self.close else "keep-alive"
        if self.pipeline:
            what = f"keep-alive, {self.pipeline}-deep pipelining"
        return f"GET / hello, {what}, {self.conns} conns"


WORKLOADS = [
    Workload("hello-c25", "hello", 25),
    Workload("hello-c256", "hello", 256),
    Workload("close-c25", "hello", 25, close=True),
    Workload("pipeline16-c256", "hello", 256, pipeline=16),
    Workload("file4k-c64", "file", 64, file="4k.bin", size=4 << 10),
    Workload("file1m-c16", "file", 16, file="1m.bin", size=1 << 20),
    Workload("file100m-c4", "file", 4, file="100m.bin", size=100 << 20),
]
WORKLOAD_BY_NAME = {w.name: w for w in WORKLOADS}


def contenders_for(workload: Workload, chosen: list[str]) -> list[str]:
    """The floors only do the hello workloads."""
    return [c for c in chosen if workload.kind == "hello" or not c.startswith("floor_")]


def round_order(contenders: list[str], round_no: int) -> list[str]:
    """Odd rounds run the contenders in the given order, even rounds in reverse: the
    machine's speed drifts within a round too, and a fixed order would hand the same
    contender the same part of every round."""
    return list(contenders) if round_no % 2 == 1 else list(reversed(contenders))


def human_size(n: int) -> str:
    for unit, shift in (("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


# ----------------------------------------------------------------------------- arguments

def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/run",
        description="hellepoll against epoll, nginx, h2o and the floor servers: requests per server "
        "CPU-second, latency, RSS; then memory at scale and a profile. Writes results.md, "
        "results.csv, results.png.",
    )
    p.add_argument("--quick", action="store_true", help="1 round, 1 s runs, smaller memory tests, no profile (< 2 min)")
    p.add_argument("--rounds", type=int, help="interleaved rounds (default 3; quick 1)")
    p.add_argument("--duration", type=int, help="seconds per measured wrk run (default 4; quick 1)")
    p.add_argument("--warmup", type=int, help="seconds of unmeasured load before each run (default 1; quick 0)")
    p.add_argument("--contenders", default=",".join(CONTENDERS), help="comma-separated subset of " + ",".join(CONTENDERS))
    p.add_argument("--workloads", default=",".join(w.name for w in WORKLOADS),
                   help="comma-separated subset of " + ",".join(w.name for w in WORKLOADS))
    p.add_argument("--build-dir", default=str(ROOT / "build" / "bench"), help="release build directory (default build/bench)")
    p.add_argument("--out", help="output directory (default bench/, where RESULTS.md is refreshed; "
                   "build/bench/quick for --quick)")
    p.add_argument("--no-build", action="store_true", help="use the binaries already in --build-dir")
    p.add_argument("--no-install", action="store_true", help="never run apt-get; skip what is missing")
    p.add_argument("--no-memory", action="store_true", help="skip the idle-connection and sleeping-task tests")
    p.add_argument("--no-profile", action="store_true", help="skip the perf profile")
    p.add_argument("--idle-conns", type=int, help="idle keep-alive connections per backend (default 50000; quick 5000)")
    p.add_argument("--tasks", type=int, help="sleeping tasks (default 500000; quick 100000)")
    p.add_argument("--server-cpu", type=int, default=0, help="CPU the server is pinned to (default 0)")
    p.add_argument("--client-cpu", type=int, default=1, help="CPU wrk is pinned to (default 1)")
    a = p.parse_args(argv)

    a.rounds = a.rounds if a.rounds is not None else (1 if a.quick else 3)
    a.duration = a.duration if a.duration is not None else (1 if a.quick else 4)
    a.warmup = a.warmup if a.warmup is not None else (0 if a.quick else 1)
    a.idle_conns = a.idle_conns if a.idle_conns is not None else (5000 if a.quick else 50000)
    a.tasks = a.tasks if a.tasks is not None else (100000 if a.quick else 500000)
    a.profile = not a.no_profile and not a.quick
    if a.rounds < 1:
        p.error("--rounds must be at least 1")
    if a.duration < 1:
        p.error("--duration must be at least 1 (wrk takes whole seconds)")
    if a.warmup < 0:
        p.error("--warmup must not be negative")
    if a.idle_conns < 1 or a.tasks < 1:
        p.error("--idle-conns and --tasks must be positive")
    a.contenders = [c for c in a.contenders.split(",") if c]
    bad = [c for c in a.contenders if c not in CONTENDERS]
    if bad or not a.contenders:
        p.error(f"unknown contender(s) {','.join(bad) or '(none)'}; choose from {','.join(CONTENDERS)}")
    names = [w for w in a.workloads.split(",") if w]
    bad = [w for w in names if w not in WORKLOAD_BY_NAME]
    if bad or not names:
        p.error(f"unknown workload(s) {','.join(bad) or '(none)'}; choose from {','.join(WORKLOAD_BY_NAME)}")
    a.workloads = [WORKLOAD_BY_NAME[w] for w in names]
    if a.out is None:
        a.out = str(ROOT / "build" / "bench" / "quick") if a.quick else str(BENCH)
    return a


# ----------------------------------------------------------------------------- /proc

def parse_stat_line(line: str) -> tuple[int, int]:
    """(utime, stime) in clock ticks from a /proc/PID/stat line: fields 14 and 15.

    Field 2, the command name, is in parentheses and may itself contain spaces and
    parentheses, so the fields are counted from the last ')'.
    """
    close = line.rfind(")")
    if close < 0:
        raise ValueError("not a /proc/PID/stat line: " + line[:80])
    rest = line[close + 1:].split()  # rest[0] is field 3 (state)
    if len(rest) < 13:
        raise ValueError("truncated /proc/PID/stat line: " + line[:80])
    return int(rest[11]), int(rest[12])


def stat_ppid(line: str) -> int:
    return int(line[line.rfind(")") + 1:].split()[1])


def cpu_seconds(before: tuple[int, int], after: tuple[int, int], clk_tck: int) -> float:
    """Server CPU time between two (utime, stime) samples, in seconds."""
    return ((after[0] - before[0]) + (after[1] - before[1])) / clk_tck


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("unknown" if it has none)."""
    try:
        m = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    except OSError:
        return "unknown"
    return m.group(1).strip() if m else "unknown"


def parse_status_kib(text: str, key: str) -> int | None:
    """A 'Key:   1234 kB' field of /proc/PID/status, in KiB."""
    m = re.search(rf"^{re.escape(key)}:\s+(\d+)\s+kB", text, re.M)
    return int(m.group(1)) if m else None


# ----------------------------------------------------------------------------- wrk output

_TIME_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_SIZE_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40, "PB": 1 << 50}


def parse_time(text: str) -> float:
    """wrk's time figures ('812.00us', '2.63ms', '1.02s', '1.00m') in seconds."""
    m = re.fullmatch(r"\s*([0-9.]+)(us|ms|s|m|h)\s*", text)
    if not m:
        raise ValueError(f"not a wrk time: {text!r}")
    return float(m.group(1)) * _TIME_UNITS[m.group(2)]


def parse_size(text: str) -> float:
    """wrk's byte figures ('512.00B', '38.77MB'; binary units) in bytes."""
    m = re.fullmatch(r"\s*([0-9.]+)([KMGTP]?B)\s*", text)
    if not m:
        raise ValueError(f"not a wrk size: {text!r}")
    return float(m.group(1)) * _SIZE_UNITS[m.group(2)]


def parse_wrk(text: str) -> dict:
    """The figures of one `wrk --latency` run."""
    out = {"requests": 0, "duration_s": 0.0, "bytes": 0.0, "rps": 0.0, "bytes_per_s": 0.0,
           "latency_ms": {}, "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0},
           "non2xx": 0}
    m = re.search(r"^\s*(\d+) requests in ([0-9.]+(?:us|ms|s|m|h)), ([0-9.]+[KMGTP]?B) read", text, re.M)
    if not m:
        raise ValueError("no 'N requests in T, B read' line in wrk output:\n" + text[-2000:])
    out["requests"] = int(m.group(1))
    out["duration_s"] = parse_time(m.group(2))
    out["bytes"] = parse_size(m.group(3))
    m = re.search(r"^Requests/sec:\s+([0-9.]+)", text, re.M)
    out["rps"] = float(m.group(1)) if m else (out["requests"] / out["duration_s"] if out["duration_s"] else 0.0)
    m = re.search(r"^Transfer/sec:\s+(\S+)", text, re.M)
    out["bytes_per_s"] = parse_size(m.group(1)) if m else (out["bytes"] / out["duration_s"] if out["duration_s"] else 0.0)
    dist = text.split("Latency Distribution", 1)
    if len(dist) == 2:
        for pct, value in re.findall(r"^\s+(\d+(?:\.\d+)?)%\s+([0-9.]+(?:us|ms|s|m|h))\s*$", dist[1], re.M):
            out["latency_ms"][float(pct)] = parse_time(value) * 1e3
        # wrk 4.1 prints percentiles as 0.00us when pipelining overflows its histogram
        # (every one of them, some rounds): no reply comes back in 0 us, and a percentile
        # below a lower one is no figure at all.
        top = 0.0
        for pct in sorted(out["latency_ms"]):
            v = out["latency_ms"][pct]
            if v <= 0.0 or v < top:
                del out["latency_ms"][pct]
            else:
                top = v
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    m = re.search(r"Non-2xx or (?:Non-)?3xx responses: (\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    return out


# ----------------------------------------------------------------------------- arithmetic

def median(values) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return a / b


def round_ratios(a: dict[int, float | None], b: dict[int, float | None]) -> list[float]:
    """a[round] / b[round] for each round both have a figure for, in round order: each ratio
    is taken between runs of the same round, which ran back to back, so slow drifts of the
    machine cancel out."""
    rs = (ratio(a[r], b.get(r)) for r in sorted(a) if r in b)
    return [r for r in rs if r is not None]


def paired_ratio(a: dict[int, float | None], b: dict[int, float | None]) -> float | None:
    """The median of the same-round ratios."""
    return median(round_ratios(a, b))


@dataclass
class Run:
    round: int
    workload: str
    contender: str
    requests: int = 0
    duration_s: float = 0.0
    rps: float = 0.0
    cpu_s: float = 0.0
    rps_per_cpu: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    peak_rss_kib: int | None = None
    mib_s: float = 0.0
    mib_per_cpu: float | None = None
    socket_errors: int = 0
    non2xx: int = 0
    error: str = ""

    @property
    def clean(self) -> bool:
        return not self.error and self.socket_errors == 0 and self.non2xx == 0 and self.requests > 0


def run_from_wrk(round_no: int, workload: str, contender: str, wrk: dict, cpu_s: float, peak_rss_kib: int | None) -> Run:
    bytes_total = wrk["bytes"]
    return Run(
        round=round_no, workload=workload, contender=contender,
        requests=wrk["requests"], duration_s=wrk["duration_s"], rps=wrk["rps"], cpu_s=cpu_s,
        rps_per_cpu=(wrk["requests"] / cpu_s) if cpu_s > 0 else None,
        p50_ms=wrk["latency_ms"].get(50.0), p99_ms=wrk["latency_ms"].get(99.0),
        peak_rss_kib=peak_rss_kib,
        mib_s=wrk["bytes_per_s"] / (1 << 20),
        mib_per_cpu=(bytes_total / (1 << 20) / cpu_s) if cpu_s > 0 else None,
        socket_errors=sum(wrk["socket_errors"].values()), non2xx=wrk["non2xx"],
    )


@dataclass
class Summary:
    workload: str
    contender: str
    runs: int
    flagged: int  # runs with socket errors, non-2xx replies or a failure
    rps: float | None
    rps_per_cpu: float | None
    p50_ms: float | None
    p99_ms: float | None
    peak_rss_kib: float | None
    mib_s: float | None
    mib_per_cpu: float | None
    socket_errors: int
    non2xx: int
    per_round: dict = field(default_factory=dict)  # metric -> {round: value}


METRICS = ("rps", "rps_per_cpu", "p50_ms", "p99_ms", "peak_rss_kib", "mib_s", "mib_per_cpu")


def summarize(runs: list[Run]) -> dict[tuple[str, str], Summary]:
    groups: dict[tuple[str, str], list[Run]] = {}
    for r in runs:
        groups.setdefault((r.workload, r.contender), []).append(r)
    out = {}
    for key, rs in groups.items():
        ok = [r for r in rs if not r.error]
        per_round = {m: {r.round: getattr(r, m) for r in ok} for m in METRICS}
        out[key] = Summary(
            workload=key[0], contender=key[1], runs=len(rs), flagged=sum(not r.clean for r in rs),
            **{m: median(getattr(r, m) for r in ok) for m in METRICS},
            socket_errors=sum(r.socket_errors for r in rs), non2xx=sum(r.non2xx for r in rs),
            per_round=per_round,
        )
    return out


def compare_rounds(summary: dict, workload: str, a: str, b: str, metric: str = "rps_per_cpu") -> list[float]:
    sa, sb = summary.get((workload, a)), summary.get((workload, b))
    if not sa or not sb:
        return []
    return round_ratios(sa.per_round[metric], sb.per_round[metric])


def compare(summary: dict, workload: str, a: str, b: str, metric: str = "rps_per_cpu") -> float | None:
    return median(compare_rounds(summary, workload, a, b, metric))


@dataclass
class Goal:
    text: str
    measured: str
    passed: bool | None  # None: could not be measured

    @property
    def verdict(self) -> str:
        return "n/a" if self.passed is None else ("PASS" if self.passed else "MISS")


def evaluate_goals(summary: dict, memory: dict) -> list[Goal]:
    """The issue's goals, each with its measured figure. `memory` holds
    'idle_bytes_per_conn' / 'idle_conns' and 'task_rss_bytes' / 'task_heap_bytes' per backend."""
    goals = []

    def ratio_goal(text, workload, a, b, target, metric="rps_per_cpu"):
        rounds = compare_rounds(summary, workload, a, b, metric)
        r = median(rounds)
        measured = fmt_ratio_spread(rounds, digits=3)  # 1.497x is a miss that 1.50x would hide
        if len(rounds) > 1:  # how firm the verdict is: the rounds that met the target on their own
            measured += f"; {sum(x >= target for x in rounds)} of {len(rounds)} rounds meet it"
        goals.append(Goal(text, measured, None if r is None else r >= target))

    ratio_goal("io_uring >= 1.5x nginx, hello keep-alive c256 (req per server CPU-s)", "hello-c256", "uring", "nginx", 1.5)
    ratio_goal("io_uring >= 1.3x h2o, hello keep-alive c256 (req per server CPU-s)", "hello-c256", "uring", "h2o", 1.3)
    ratio_goal("io_uring >= 1.15x epoll, hello keep-alive c256", "hello-c256", "uring", "epoll", 1.15)
    ratio_goal("io_uring >= 1.15x epoll, pipelined c256", "pipeline16-c256", "uring", "epoll", 1.15)
    s = summary.get(("pipeline16-c256", "uring"))
    v = s.rps_per_cpu if s else None
    goals.append(Goal("pipelined c256 >= 1,000,000 req per server CPU-s on io_uring",
                      "-" if v is None else f"{v:,.0f}", None if v is None else v >= 1e6))
    ratio_goal("io_uring within 25% of floor_uring, hello keep-alive c256 (>= 0.75x)", "hello-c256", "uring", "floor_uring", 0.75)
    ratio_goal("epoll within 25% of floor_epoll, hello keep-alive c256 (>= 0.75x)", "hello-c256", "epoll", "floor_epoll", 0.75)
    ratio_goal("io_uring >= 1.2x h2o, Connection: close c25 (req per server CPU-s)", "close-c25", "uring", "h2o", 1.2)
    ratio_goal("io_uring >= nginx MB/s, 1 MiB file c16", "file1m-c16", "uring", "nginx", 1.0, metric="mib_s")
    idle = memory.get("uring", {}).get("idle_bytes_per_conn")
    n = memory.get("uring", {}).get("idle_conns")
    goals.append(Goal("idle keep-alive connections <= 2 KiB RSS each on io_uring"
                      + (f" (measured at {n:,})" if n else ""),
                      "-" if idle is None else f"{idle:,.0f} B", None if idle is None else idle <= 2048))
    task = memory.get("uring", {}).get("task_rss_bytes")
    n = memory.get("uring", {}).get("tasks")
    goals.append(Goal("500,000 sleeping tasks <= 256 bytes each (RSS)" + (f" (measured at {n:,})" if n and n != 500000 else ""),
                      "-" if task is None else f"{task:,.0f} B", None if task is None else task <= 256))
    return goals


# ----------------------------------------------------------------------------- formatting

def fmt_num(v, digits=0, suffix="") -> str:
    if v is None:
        return "-"
    return f"{v:,.{digits}f}{suffix}"


def fmt_ratio(v) -> str:
    return "-" if v is None else f"{v:.2f}x"


def fmt_ratio_spread(rounds: list[float], digits: int = 2) -> str:
    """The median of same-round ratios and, with two rounds or more, their range: on a
    noisy machine the range says whether a difference is real."""
    m = median(rounds)
    text = "-" if m is None else f"{m:.{digits}f}x"
    if len(rounds) < 2:
        return text
    return f"{text} ({min(rounds):.2f}-{max(rounds):.2f})"


def results_table(summary: dict, workloads: list[Workload], contenders: list[str]) -> str:
    lines = ["| workload | server | req/s | req per server CPU-s | p50 | p99 | peak RSS | MiB/s | MiB per CPU-s | flags |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for w in workloads:
        for c in contenders_for(w, contenders):
            s = summary.get((w.name, c))
            if s is None:
                continue
            flags = ""
            if s.flagged:
                flags = f"FLAGGED {s.flagged}/{s.runs} runs: {s.socket_errors} socket errors, {s.non2xx} non-2xx"
            file_cols = w.kind == "file"
            lines.append(
                f"| {w.name} | {LABELS[c]} | {fmt_num(s.rps)} | {fmt_num(s.rps_per_cpu)} | "
                f"{fmt_num(s.p50_ms, 2, ' ms')} | {fmt_num(s.p99_ms, 2, ' ms')} | "
                f"{fmt_num(s.peak_rss_kib / 1024 if s.peak_rss_kib else None, 1, ' MiB')} | "
                f"{fmt_num(s.mib_s, 0) if file_cols else '-'} | {fmt_num(s.mib_per_cpu, 0) if file_cols else '-'} | {flags} |")
    return "\n".join(lines)


def ratio_table(summary: dict, workloads: list[Workload]) -> str:
    pairs = [("uring", "epoll"), ("uring", "nginx"), ("uring", "h2o"), ("uring", "floor_uring"), ("epoll", "floor_epoll")]
    head = "| workload | metric | " + " | ".join(f"{a} / {b}".replace("floor_", "floor ") for a, b in pairs) + " |"
    lines = [head, "| --- | --- |" + " ---: |" * len(pairs)]
    for w in workloads:
        metrics = [("rps_per_cpu", "req per CPU-s")]
        if w.kind == "file":
            metrics.append(("mib_s", "MiB/s"))
        else:
            metrics.append(("rps", "req/s"))
        for m, label in metrics:
            cells = [fmt_ratio_spread(compare_rounds(summary, w.name, a, b, m)) for a, b in pairs]
            lines.append(f"| {w.name} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def goals_table(goals: list[Goal]) -> str:
    lines = ["| goal | measured | verdict |", "| --- | ---: | --- |"]
    lines += [f"| {g.text} | {g.measured} | **{g.verdict}** |" for g in goals]
    return "\n".join(lines)


def memory_table(memory: dict) -> str:
    lines = ["| backend | idle conns held | server RSS per conn, idle 3 s | ... just after its request | "
             "sleeping tasks | RSS per task | heap per task |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for b in ("uring", "epoll"):
        m = memory.get(b)
        if not m:
            continue
        lines.append(f"| {LABELS[b]} | {fmt_num(m.get('idle_conns'))} | {fmt_num(m.get('idle_bytes_per_conn'), 0, ' B')} | "
                     f"{fmt_num(m.get('idle_bytes_per_conn_just_after'), 0, ' B')} | "
                     f"{fmt_num(m.get('tasks'))} | {fmt_num(m.get('task_rss_bytes'), 0, ' B')} | "
                     f"{fmt_num(m.get('task_heap_bytes'), 0, ' B')} |")
    return "\n".join(lines)


def parse_result_line(text: str) -> dict[str, float]:
    """The 'RESULT key=value ...' line that idle_conns and sleeping_tasks print."""
    for line in text.splitlines():
        if line.startswith("RESULT "):
            return {k: float(v) for k, v in (kv.split("=", 1) for kv in line.split()[1:])}
    return {}


RUN_FIELDS = [f.name for f in fields(Run)]


def write_csv(path: Path, runs: list[Run]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(RUN_FIELDS)
        for r in runs:
            row = []
            for name in RUN_FIELDS:
                v = getattr(r, name)
                row.append("" if v is None else (f"{v:.6g}" if isinstance(v, float) else v))
            w.writerow(row)


# ============================================================================= running things

CLK_TCK = os.sysconf("SC_CLK_TCK")
_children: list[subprocess.Popen] = []


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def proc_tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                kids.setdefault(stat_ppid(f.read()), []).append(int(d))
        except (OSError, ValueError, IndexError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def tree_cpu_ticks(pids: list[int]) -> tuple[int, int]:
    """utime, stime summed over processes (each process's line covers all its threads)."""
    u = s = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                a, b = parse_stat_line(f.read())
            u, s = u + a, s + b
        except (OSError, ValueError):
            pass
    return u, s


def tree_status_kib(pids: list[int], key: str) -> int | None:
    total, seen = 0, False
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                v = parse_status_kib(f.read(), key)
        except OSError:
            continue
        if v is not None:
            total, seen = total + v, True
    return total if seen else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kill_tree(proc: subprocess.Popen, grace: float = 3.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group: nginx workers, h2o helpers
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def kill_all_children() -> None:
    for p in list(_children):
        kill_tree(p, grace=1.0)
    _children.clear()


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it if the suite itself dies without cleaning up
    (SIGKILL, OOM), so no server outlives it. Survives exec (not setuid ones)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def spawn(cmd: list[str], logfile: Path, env=None) -> subprocess.Popen:
    f = open(logfile, "ab")
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True, env=env, preexec_fn=_die_with_parent)
    f.close()
    _children.append(p)
    return p


def wait_listening(port: int, proc: subprocess.Popen, logfile: Path, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {tail(logfile)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port} within {timeout:.0f} s: {tail(logfile)}")


def tail(path: Path, n: int = 600) -> str:
    try:
        return path.read_text(errors="replace")[-n:].strip()
    except OSError:
        return ""


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def have_pkg(name: str) -> bool:
    r = sh(["dpkg-query", "-W", "-f=${Status}", name])
    return r.returncode == 0 and "install ok installed" in r.stdout


def ensure_packages(pkgs: list[str], allow_install: bool) -> list[str]:
    """Installs the Debian packages that are missing (only those); returns what is still missing."""
    missing = [p for p in pkgs if not have_pkg(p)]
    if not missing or not allow_install:
        return missing
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log(f"installing {' '.join(missing)}")
    sh(sudo + ["apt-get", "update", "-qq"], env=env)
    r = sh(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing, env=env)
    if r.returncode != 0:  # one unavailable package must not keep the others out
        for p in missing:
            sh(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", p], env=env)
    return [p for p in pkgs if not have_pkg(p)]


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.a = args
        self.build = Path(args.build_dir).resolve()
        self.out = Path(args.out).resolve()
        self.tmp = Path(tempfile.mkdtemp(prefix="hellepoll-bench-"))
        os.chmod(self.tmp, 0o755)  # nginx and h2o workers may run as another user
        self.files = self.tmp / "files"
        self.notes: list[str] = []
        self.runs: list[Run] = []
        self.memory: dict[str, dict] = {}
        self.profiles: dict[str, str] = {}
        self.h2o_mruby = False
        self.fileserver: Path | None = None
        self.started = time.monotonic()

    # ------------------------------------------------------------------ setup
    def install(self) -> None:
        if not self.a.no_build and not self.a.no_install:
            # The build's own packages (compiler, cmake, liburing, fmt): on a fresh machine
            # bench/run may be the first command run. scripts/deps.sh is the one list of them.
            r = sh(["bash", str(ROOT / "scripts" / "deps.sh")])
            if r.returncode != 0:
                raise SystemExit("bench: scripts/deps.sh could not install the build's packages:\n"
                                 + r.stdout[-2000:] + r.stderr[-2000:])
        missing = ensure_packages(["wrk", "gnuplot-nox", "nginx", "h2o"], not self.a.no_install)
        if "wrk" in missing:
            raise SystemExit("bench: wrk is missing and could not be installed (apt-get install wrk)")
        if "gnuplot-nox" in missing:
            self.notes.append("gnuplot-nox could not be installed: no PNG chart.")
        for name in ("nginx", "h2o"):
            if name in missing and name in self.a.contenders:
                self.a.contenders.remove(name)
                self.notes.append(f"{name} skipped: the Debian package `{name}` is not installed and could not be.")
        if "h2o" in self.a.contenders:
            v = sh(["h2o", "--version"]).stdout
            self.h2o_mruby = bool(re.search(r"mruby:\s*YES", v))
            self.notes.append("h2o answers the hello workloads through an mruby handler (a Proc returning the "
                              "13-byte body)." if self.h2o_mruby else
                              "h2o was built without mruby: it answers the hello workloads by serving a static "
                              "file holding \"Hello, World!\" (more work per request than a canned reply).")

    def build_all(self) -> None:
        exe = lambda p: self.build / p  # noqa: E731
        if not self.a.no_build:
            gen = ["-G", "Ninja"] if shutil.which("ninja") else []
            log(f"configuring and building in {self.build} (Release)")
            r = sh(["cmake", "-S", str(ROOT), "-B", str(self.build), *gen, "-DCMAKE_BUILD_TYPE=Release",
                    "-DHELLEPOLL_TESTS=OFF"])
            if r.returncode != 0:
                raise SystemExit("bench: cmake failed:\n" + r.stdout[-3000:] + r.stderr[-3000:])
            jobs = str(os.cpu_count() or 2)
            targets = ["hello", "floor_epoll", "floor_uring", "idle_conns", "sleeping_tasks"]
            r = sh(["cmake", "--build", str(self.build), "-j", jobs, "--target", *targets])
            if r.returncode != 0:
                raise SystemExit("bench: build failed:\n" + r.stdout[-4000:] + r.stderr[-2000:])
            # The file server is another engineer's target; build it if it exists, go on without it.
            r = sh(["cmake", "--build", str(self.build), "-j", jobs, "--target", "hellepoll"])
            if r.returncode != 0:
                log("the file server target `hellepoll` did not build; file workloads run without hellepoll")
        for name in ("examples/hello", "bench/floor_epoll", "bench/floor_uring", "bench/idle_conns", "bench/sleeping_tasks"):
            if not exe(name).exists():
                raise SystemExit(f"bench: {exe(name)} is missing (build without --no-build)")
        fs = exe("examples/hellepoll")
        self.fileserver = fs if fs.exists() else None
        if self.fileserver is None and any(w.kind == "file" for w in self.a.workloads):
            self.notes.append("examples/hellepoll (the file server) was not built: the file workloads ran without hellepoll.")

    def make_files(self) -> None:
        self.files.mkdir(mode=0o755)
        block = os.urandom(1 << 20)
        for w in WORKLOADS:
            if w.kind != "file":
                continue
            with open(self.files / w.file, "wb") as f:
                left = w.size
                while left:
                    n = min(left, len(block))
                    f.write(block[:n])
                    left -= n
            os.chmod(self.files / w.file, 0o644)
        (self.files / "hello.txt").write_bytes(b"Hello, World!")
        os.chmod(self.files / "hello.txt", 0o644)

    # ------------------------------------------------------------------ servers
    def server_command(self, contender: str, workload: Workload, port: int, rundir: Path) -> list[str] | None:
        b = self.build
        if contender in ("uring", "epoll"):
            if workload.kind == "hello":
                return [str(b / "examples/hello"), "--port", str(port), "--backend", contender,
                        "--threads", "1", "--access-log", "off"]
            if self.fileserver is None:
                return None
            return [str(self.fileserver), "serve", str(self.files), "--port", str(port), "--backend", contender,
                    "--access-log", "off"]
        if contender.startswith("floor_"):
            return [str(b / "bench" / contender), "--port", str(port)]
        if contender == "nginx":
            conf = rundir / "nginx.conf"
            conf.write_text(nginx_config(rundir, port, self.files))
            return ["nginx", "-p", str(rundir), "-e", str(rundir / "error.log"), "-c", str(conf)]
        if contender == "h2o":
            conf = rundir / "h2o.conf"
            conf.write_text(h2o_config(rundir, port, self.files, workload.kind, self.h2o_mruby))
            return ["h2o", "-c", str(conf)]
        raise ValueError(contender)

    def start(self, contender: str, workload: Workload, tag: str, prefix: list[str] | None = None):
        port = free_port()
        rundir = self.tmp / f"{tag}-{contender}-{port}"
        rundir.mkdir(mode=0o755)
        cmd = self.server_command(contender, workload, port, rundir)
        if cmd is None:
            return None
        logfile = rundir / "server.log"
        proc = spawn(["taskset", "-c", str(self.a.server_cpu)] + (prefix or []) + cmd, logfile)
        try:
            wait_listening(port, proc, logfile)
        except RuntimeError:
            kill_tree(proc)
            raise
        return proc, port, logfile

    def stop(self, proc: subprocess.Popen) -> None:
        kill_tree(proc)
        if proc in _children:
            _children.remove(proc)

    # ------------------------------------------------------------------ load
    def wrk_cmd(self, w: Workload, port: int, seconds: int) -> list[str]:
        cmd = ["taskset", "-c", str(self.a.client_cpu), "wrk", "-t1", f"-c{w.conns}", f"-d{seconds}s",
               "--timeout", "10s", "--latency"]
        if w.close:
            cmd += ["-H", "Connection: close"]
        if w.pipeline:
            cmd += ["-s", str(BENCH / "pipeline.lua")]
        cmd.append(f"http://127.0.0.1:{port}{w.path}")
        if w.pipeline:
            cmd += ["--", str(w.pipeline)]
        return cmd

    def measure(self, round_no: int, w: Workload, contender: str) -> Run:
        try:
            started = self.start(contender, w, f"r{round_no}-{w.name}")
        except RuntimeError as e:
            log(f"  {contender}: failed to start: {e}")
            return Run(round_no, w.name, contender, error=f"start: {e}"[:200])
        if started is None:
            return Run(round_no, w.name, contender, error="not available")
        proc, port, logfile = started
        try:
            if self.a.warmup:
                sh(self.wrk_cmd(w, port, self.a.warmup), timeout=self.a.warmup + 60)
            pids = proc_tree(proc.pid)
            before = tree_cpu_ticks(pids)
            r = sh(self.wrk_cmd(w, port, self.a.duration), timeout=self.a.duration + 60)
            pids = sorted(set(pids) | set(proc_tree(proc.pid)))
            after = tree_cpu_ticks(pids)
            hwm = tree_status_kib(pids, "VmHWM")
            if proc.poll() is not None:
                raise RuntimeError(f"server died during the run: {tail(logfile)}")
            if r.returncode != 0:
                raise RuntimeError(f"wrk failed: {r.stderr.strip()[-300:]}")
            run = run_from_wrk(round_no, w.name, contender, parse_wrk(r.stdout), cpu_seconds(before, after, CLK_TCK), hwm)
            with open(self.tmp / "wrk.log", "a") as f:
                f.write(f"### round {round_no} {w.name} {contender}\n{r.stdout}\n")
            return run
        except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
            log(f"  {contender}: {e}")
            return Run(round_no, w.name, contender, error=str(e)[:200])
        finally:
            self.stop(proc)

    def comparison(self) -> None:
        for rnd in range(1, self.a.rounds + 1):
            for w in self.a.workloads:
                for c in round_order(contenders_for(w, self.a.contenders), rnd):
                    if c in ("uring", "epoll") and w.kind == "file" and self.fileserver is None:
                        continue
                    run = self.measure(rnd, w, c)
                    self.runs.append(run)
                    if run.error:
                        continue
                    extra = f", {run.mib_s:,.0f} MiB/s" if w.kind == "file" else ""
                    flag = "" if run.clean else f"  FLAGGED: {run.socket_errors} socket errors, {run.non2xx} non-2xx"
                    log(f"round {rnd}/{self.a.rounds} {w.name:16} {LABELS[c]:19} {run.rps:>10,.0f} req/s "
                        f"{fmt_num(run.rps_per_cpu):>11} req/CPU-s{extra}{flag}")

    # ------------------------------------------------------------------ memory at scale
    def server_nofile(self, want: int) -> tuple[list[str], int]:
        """A prlimit prefix that gives the server `want` descriptors, or as many as allowed."""
        r = sh(["prlimit", f"--nofile={want}:{want}", "true"])
        if r.returncode == 0:
            return ["prlimit", f"--nofile={want}:{want}"], want
        import resource
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        return ["prlimit", f"--nofile={hard}:{hard}"], hard

    def memory_tests(self) -> None:
        want = self.a.idle_conns
        prefix, nofile = self.server_nofile(want + 1000)
        conns = min(want, nofile - 200)
        if conns < want:
            self.notes.append(
                f"Idle connections: this machine caps RLIMIT_NOFILE at {nofile} (raising it further is refused "
                f"even to root), so each server held {conns:,} idle connections, not {want:,}; RSS per connection "
                f"is a slope and is measured the same way.")
        hello = Workload("idle", "hello", 0)
        for backend in ("uring", "epoll"):
            m = self.memory.setdefault(backend, {})
            try:
                started = self.start(backend, hello, f"idle-{backend}", prefix)
            except RuntimeError as e:
                log(f"idle connections on {backend}: {e}")
                continue
            proc, port, _ = started
            try:
                cmd = ["taskset", "-c", str(self.a.client_cpu), str(self.build / "bench/idle_conns"), "--port", str(port),
                       "--conns", str(conns), "--server-pid", str(proc.pid), "--timeout", "90", "--settle", "3"]
                r = sh(cmd, timeout=150)
                res = parse_result_line(r.stdout)
                log(f"idle connections on {backend}: " + (r.stdout.strip().splitlines()[1] if res else r.stderr.strip()[-300:]))
                if res:
                    m["idle_conns"] = int(res["conns"])
                    m["idle_bytes_per_conn"] = res["bytes_per_conn"]
                    m["idle_failed"] = int(res["failed"])
                    m["idle_rss_base_kib"] = int(res["rss_base_kib"])
                    m["idle_rss_kib"] = int(res["rss_kib"])
                    m["idle_bytes_per_conn_just_after"] = res.get("bytes_per_conn_just_after")
            except subprocess.TimeoutExpired:
                log(f"idle connections on {backend}: timed out")
            finally:
                self.stop(proc)
        for backend in ("uring", "epoll"):
            m = self.memory.setdefault(backend, {})
            cmd = ["taskset", "-c", str(self.a.server_cpu), str(self.build / "bench/sleeping_tasks"),
                   "--tasks", str(self.a.tasks), "--backend", backend]
            try:
                r = sh(cmd, timeout=120)
            except subprocess.TimeoutExpired:
                log(f"sleeping tasks on {backend}: timed out")
                continue
            res = parse_result_line(r.stdout)
            if not res:
                log(f"sleeping tasks on {backend} failed: {r.stdout[-300:]} {r.stderr[-300:]}")
                continue
            m["tasks"] = int(res["tasks"])
            m["task_rss_bytes"] = res["rss_bytes_per_task"]
            m["task_heap_bytes"] = res["heap_bytes_per_task"]
            log(f"sleeping tasks on {backend}: {res['rss_bytes_per_task']:.0f} B RSS, "
                f"{res['heap_bytes_per_task']:.0f} B heap per task")

    # ------------------------------------------------------------------ profile
    def profile(self) -> None:
        ok = sh(["perf", "record", "-q", "-e", "cpu-clock", "-o", str(self.tmp / "probe.data"), "true"]) \
            if shutil.which("perf") else None
        use_perf = ok is not None and ok.returncode == 0 and os.environ.get("HBENCH_PROFILER") != "callgrind"
        if not use_perf and not shutil.which("valgrind"):
            self.notes.append("No profile: neither `perf record -e cpu-clock` nor valgrind works here.")
            return
        for backend, name in (("uring", "hello-c256"), ("epoll", "hello-c256"), ("uring", "close-c25"),
                              ("uring", "file4k-c64"), ("epoll", "file4k-c64")):
            w = WORKLOAD_BY_NAME[name]
            if w.kind == "file" and self.fileserver is None:
                continue
            key = f"{LABELS[backend]}, {name}"
            try:
                self.profiles[key] = (self.perf_profile if use_perf else self.callgrind_profile)(backend, w)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                log(f"profile of {key} failed: {e}")

    def perf_profile(self, backend: str, w: Workload, seconds: int = 5) -> str:
        started = self.start(backend, w, f"perf-{backend}")
        if started is None:
            raise RuntimeError("server not available")
        proc, port, _ = started
        data = self.tmp / f"perf-{backend}-{w.name}.data"
        try:
            load = subprocess.Popen(self.wrk_cmd(w, port, seconds + 2), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            _children.append(load)
            time.sleep(1)
            sh(["perf", "record", "-q", "-e", "cpu-clock", "-F", "2999", "-p", str(proc.pid), "-o", str(data),
                "--", "sleep", str(seconds)], timeout=seconds + 30)
            load.wait(timeout=seconds + 30)
            _children.remove(load)
        finally:
            self.stop(proc)
        report = ["perf", "report", "-i", str(data), "--stdio", "--no-children"]
        by_dso = sh(report + ["--sort", "dso", "-F", "overhead,dso"], timeout=120).stdout
        by_sym = sh(report + ["--sort", "dso,sym", "-F", "overhead,dso,sym", "--percent-limit", "0.3"], timeout=120).stdout
        (self.out / f"profile-{backend}-{w.name}.txt").write_text(
            f"# perf record -e cpu-clock -F 2999 -p <hello --backend {backend}> for {seconds} s of wrk {w.name},\n"
            f"# server pinned to CPU {self.a.server_cpu}; then perf report --no-children --sort dso / dso,sym\n"
            + by_dso + "\n" + by_sym)
        return summarize_perf(by_sym, by_dso)

    def callgrind_profile(self, backend: str, w: Workload, seconds: int = 5) -> str:
        out = self.tmp / f"callgrind-{backend}-{w.name}.out"
        prefix = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        started = self.start(backend, w, f"cg-{backend}", prefix)
        if started is None:
            raise RuntimeError("server not available")
        proc, port, _ = started
        try:
            sh(self.wrk_cmd(w, port, seconds), timeout=seconds + 60)
        finally:
            self.stop(proc)
        r = sh(["callgrind_annotate", str(out)], timeout=120)
        (self.out / f"profile-{backend}-{w.name}.txt").write_text(r.stdout)
        return summarize_callgrind(r.stdout)

    # ------------------------------------------------------------------ report
    def machine(self) -> dict:
        cpu = cpu_model()
        commit = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]).stdout.strip() or "unknown"
        status = sh(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"]).stdout.splitlines()
        # This run's own outputs (profiles are written before this) do not make the code dirty.
        dirty = [line for line in status if not re.match(r"^.. bench/(RESULTS\.md|results[-.]|profile-)", line)]
        versions = []
        for c, cmd in (("nginx", ["nginx", "-v"]), ("h2o", ["h2o", "--version"]), ("wrk", ["wrk", "-v"])):
            if shutil.which(cmd[0]):
                r = sh(cmd)
                first = (r.stdout + r.stderr).strip().splitlines()
                versions.append(re.sub(r"\s*\[epoll\].*|\s*Copyright.*", "", first[0]) if first else c)
        return {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": cpu, "nproc": os.cpu_count(), "kernel": os.uname().release,
            "commit": commit + (" (with uncommitted changes)" if dirty else ""),
            "versions": versions,
        }

    def report(self) -> str:
        summary = summarize(self.runs)
        goals = evaluate_goals(summary, self.memory)
        m = self.machine()
        full = (self.a.rounds, self.a.duration, self.a.warmup) == (3, 4, 1) and len(self.a.workloads) == len(WORKLOADS)
        mode = "quick" if self.a.quick else ("full" if full else "custom")
        elapsed = time.monotonic() - self.started
        parts = [
            f"Run of {m['date']} ({mode} mode: {self.a.rounds} round(s) of {self.a.duration} s per run after "
            f"{self.a.warmup} s of warm-up, contenders interleaved, every other round in reverse; "
            f"{elapsed / 60:.1f} min in all)  ",
            f"Machine: {m['nproc']} CPUs, {m['cpu']}, kernel {m['kernel']}; commit {m['commit']}  ",
            f"Server pinned to CPU {self.a.server_cpu}, `wrk -t1` to CPU {self.a.client_cpu}; "
            f"medians over rounds, ratios are medians of same-round ratios, with their range over the rounds in brackets. " + "; ".join(m["versions"]),
            "",
            "### Throughput, server cost, latency",
            "",
            results_table(summary, self.a.workloads, self.a.contenders),
            "",
            "### Ratios (same run)",
            "",
            ratio_table(summary, self.a.workloads),
            "",
        ]
        if self.memory:
            parts += ["### Memory at scale", "", memory_table(self.memory), ""]
        parts += ["### Goals", "", goals_table(goals), ""]
        if self.profiles:
            parts += ["### Profile (perf record -e cpu-clock of the server process under load; files profile-*.txt)", ""]
            for key, text in self.profiles.items():
                parts += [f"{key}:", "", "```", text, "```", ""]
        failed = [r for r in self.runs if r.error]
        notes = list(self.notes)
        if any(s.rps and (s.p50_ms is None or s.p99_ms is None) for s in summary.values()):
            notes.append("A p50 or p99 of '-' is one wrk 4.1 printed as 0.00us in every round (its "
                         "histogram overflows under pipelining at these rates): no figure rather than a wrong one.")
        if failed:
            notes.append(f"{len(failed)} run(s) failed: " + "; ".join(
                f"{r.workload}/{r.contender}: {r.error}" for r in failed[:6]))
        if notes:
            parts += ["### Notes", ""] + [f"- {n}" for n in notes] + [""]
        rerun = " ".join(["bench/run"] + [shlex.quote(x) for x in getattr(self.a, "argv", [])])
        parts.append(f"Rerun: `{rerun}` (raw numbers: results.csv, results-memory.csv).")
        return "\n".join(parts)

    def chart(self, path: Path) -> bool:
        if not shutil.which("gnuplot"):
            return False
        summary = summarize(self.runs)
        panels = []
        for kind, cols, metric, scale, title in (
                ("hello", list(self.a.contenders), "rps_per_cpu", 1e-3,
                 "hello workloads: thousand requests per server CPU-second (log scale, higher is better)"),
                ("file", [c for c in self.a.contenders if not c.startswith("floor_")], "mib_s", 1.0,
                 "file workloads: MiB/s (log scale, higher is better)")):
            rows = [w for w in self.a.workloads if w.kind == kind]
            if rows and cols and any(summary.get((w.name, c)) for w in rows for c in cols):
                panels.append((rows, cols, metric, scale, title))
        if not panels:
            return False
        dat = self.tmp / "chart.dat"
        with open(dat, "w") as f:
            for rows, cols, metric, scale, _ in panels:
                f.write("workload " + " ".join(f'"{LABELS[c]}"' for c in cols) + "\n")
                for w in rows:
                    vals = []
                    for c in cols:
                        s = summary.get((w.name, c))
                        v = getattr(s, metric) if s else None
                        vals.append("NaN" if v is None else f"{v * scale:.3f}")
                    f.write(f'"{w.name}" ' + " ".join(vals) + "\n")
                f.write("\n\n")
        colors = ["#1f77b4", "#aec7e8", "#d62728", "#2ca02c", "#7f7f7f", "#c7c7c7"]
        script = [
            f"set terminal pngcairo size {700 * len(panels)},600 font 'Sans,10' noenhanced",
            f"set output '{path}'",
            f"set multiplot layout 1,{len(panels)} title 'hellepoll bench/run: server pinned to one CPU, wrk to the other'",
            "set style data histograms", "set style histogram clustered gap 1", "set style fill solid 0.9 border -1",
            "set boxwidth 0.9", "set key outside bottom center horizontal font ',9'", "set grid ytics",
            "set xtics nomirror", "set logscale y", "set yrange [10:*]",
        ]
        for index, (rows, cols, metric, scale, title) in enumerate(panels):
            plot = []
            for i, c in enumerate(cols):
                src = f"'{dat}' index {index} using {i + 2}:xtic(1)" if i == 0 else f"'' index {index} using {i + 2}"
                plot.append(f"{src} title columnheader({i + 2}) lc rgb '{colors[CONTENDERS.index(c)]}'")
            script += [f"set title '{title}'", "plot " + ", ".join(plot)]
        script.append("unset multiplot")
        gp = self.tmp / "chart.gp"
        gp.write_text("\n".join(script) + "\n")
        r = sh(["gnuplot", str(gp)])
        if r.returncode != 0:
            log("gnuplot failed: " + (r.stderr or r.stdout)[-500:])
            return False
        return True

    def write_outputs(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        write_csv(self.out / "results.csv", self.runs)
        if self.memory:
            with open(self.out / "results-memory.csv", "w", newline="") as f:
                w = csv.writer(f)
                keys = ["idle_conns", "idle_failed", "idle_rss_base_kib", "idle_rss_kib", "idle_bytes_per_conn",
                        "idle_bytes_per_conn_just_after", "tasks", "task_rss_bytes", "task_heap_bytes"]
                w.writerow(["backend"] + keys)
                for b, m in self.memory.items():
                    w.writerow([b] + [m.get(k, "") for k in keys])
        png = self.out / "results.png"
        charted = self.chart(png)
        text = self.report()
        if charted:
            text += "\n\n![requests per server CPU-second and file MiB/s](results.png)\n"
        print(text)
        if self.out == BENCH.resolve():
            update_results_md(BENCH / "RESULTS.md", text)  # the prose around the markers stays
            log("bench/RESULTS.md updated between its bench/run markers")
            written = "RESULTS.md"
        else:
            (self.out / "results.md").write_text(text + "\n")
            written = "results.md"
        log(f"wrote {self.out}/{written}, results.csv" + (", results.png" if charted else ""))

    def cleanup(self) -> None:
        kill_all_children()
        shutil.rmtree(self.tmp, ignore_errors=True)


def parse_perf_rows(report: str) -> list[tuple[float, str, str]]:
    """(percent, dso, symbol) rows of `perf report --stdio -F overhead,dso[,sym]`."""
    rows = []
    for line in report.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r"\s*([0-9.]+)%\s+(\S+)(?:\s+\[[k.]\]\s+(.+?))?\s*$", line)
        if m:
            rows.append((float(m.group(1)), m.group(2), m.group(3) or ""))
    return sorted(rows, key=lambda r: -r[0])


def summarize_perf(by_sym: str, by_dso: str = "", top: int = 15) -> str:
    """The split of samples by binary, then the top symbols."""
    out = []
    dsos = parse_perf_rows(by_dso)
    if dsos:
        out.append("by binary: " + ", ".join(f"{'kernel' if d.startswith('[kernel') else d} {p:.1f}%"
                                            for p, d, _ in dsos if p >= 0.5))
    out.append(f"{'self':>6}  {'binary':10} symbol")
    for pct, dso, sym in parse_perf_rows(by_sym)[:top]:
        where = "kernel" if dso.startswith("[kernel") else dso
        out.append(f"{pct:5.1f}%  {where[:10]:10} {sym[:100]}")
    return "\n".join(out)


def summarize_callgrind(report: str, top: int = 15) -> str:
    """The top functions of callgrind_annotate (instructions in user space only)."""
    out = ["instructions executed in user space (callgrind; the kernel is not seen)"]
    for line in report.splitlines():
        m = re.match(r"\s*[0-9,]+ \(\s*([0-9.]+)%\)\s+(.+?)(?: \[(\S+)\])?$", line)
        if m and "PROGRAM TOTALS" not in line:
            func = re.sub(r"^(\?\?\?|\S*?\.[A-Za-z]+):", "", m.group(2))  # "???:" or "./path/file.c:"
            out.append(f"{float(m.group(1)):5.1f}%  {Path(m.group(3) or '?').name[:10]:10} {func[:100]}")
        if len(out) > top:
            break
    return "\n".join(out)


BEGIN_MARK = "<!-- BEGIN bench/run output: regenerated by a full run, do not edit by hand -->"
END_MARK = "<!-- END bench/run output -->"


def update_results_md(path: Path, generated: str) -> None:
    block = f"{BEGIN_MARK}\n\n{generated.strip()}\n\n{END_MARK}"
    text = path.read_text() if path.exists() else "# hellepoll benchmark results\n\n" + BEGIN_MARK + "\n" + END_MARK + "\n"
    if BEGIN_MARK in text and END_MARK in text:
        head, rest = text.split(BEGIN_MARK, 1)
        tail_ = rest.split(END_MARK, 1)[1]
        text = head + block + tail_
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def nginx_config(rundir: Path, port: int, files: Path) -> str:
    import resource
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "\n".join(f"  {n}_temp_path {rundir}/{n};" for n in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""{user}worker_processes 1;
daemon off;
master_process on;
pid {rundir}/nginx.pid;
error_log {rundir}/error.log;
worker_rlimit_nofile {nofile};
events {{ worker_connections {max(256, min(65536, nofile - 64))}; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
{temps}
  types {{ text/plain txt; application/octet-stream bin; }}
  default_type application/octet-stream;
  server {{
    listen 127.0.0.1:{port};
    server_name localhost;
    location = / {{
      default_type text/plain;
      return 200 "Hello, World!";
    }}
    location / {{ root {files}; }}
  }}
}}
"""


def h2o_config(rundir: Path, port: int, files: Path, kind: str, mruby: bool) -> str:
    user = "user: root\n" if os.geteuid() == 0 else ""
    if kind == "file":
        handler = f"        file.dir: {files}\n"
    elif mruby:
        handler = ("        mruby.handler: |\n"
                   "          Proc.new do |env|\n"
                   "            [200, {\"content-type\" => \"text/plain\"}, [\"Hello, World!\"]]\n"
                   "          end\n")
    else:
        handler = f"        file.file: {files}/hello.txt\n"
    return f"""{user}num-threads: 1
max-connections: 100000
error-log: {rundir}/error.log
listen:
  host: 127.0.0.1
  port: {port}
hosts:
  "default":
    paths:
      "/":
{handler}"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    args.argv = argv
    bench = Bench(args)

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # servers and wrk inherit it
        bench.install()
        bench.build_all()
        bench.make_files()
        log(f"{args.rounds} round(s) x {len(args.workloads)} workload(s), {args.duration} s per run")
        bench.comparison()
        if not args.no_memory:
            bench.memory_tests()
        if args.profile:
            bench.out.mkdir(parents=True, exist_ok=True)
            bench.profile()
        bench.write_outputs()
        return 0
    finally:
        bench.cleanup()


if __name__ == "__main__":
    sys.exit(main())
