"""Tests of bench/run's own logic (bench/hbench.py) and of the two floor servers.

Run by CTest as `python3 -m unittest discover -s tests/bench`, with FLOOR_EPOLL and
FLOOR_URING naming the built floor servers; without them the floor tests are skipped.
The timing itself is not tested.
"""

import math
import os
import signal
import socket
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import ab_pair  # noqa: E402
import hbench  # noqa: E402

WRK_PLAIN = """Running 3s test @ http://127.0.0.1:18080/
  1 threads and 256 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.63ms    2.59ms  13.66ms   83.76%
    Req/Sec    90.46k     4.05k  100.69k    66.67%
  Latency Distribution
     50%    1.04ms
     75%    4.85ms
     90%    6.17ms
     99%    9.45ms
  272853 requests in 3.05s, 38.77MB read
Requests/sec:  89531.10
Transfer/sec:     12.72MB
"""

WRK_ERRORS = """Running 1m test @ http://127.0.0.1:8080/big.bin
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   812.00us    1.20s    2.00m    90.00%
    Req/Sec    10.00      2.00    12.00     70.00%
  Latency Distribution
     50%  812.00us
     75%    1.50s
     90%    1.00m
     99%    2.00m
  1200 requests in 1.00m, 117.19GB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 7
Requests/sec:     20.00
Transfer/sec:      1.95GB
"""

# wrk 4.1 under 16-deep pipelining: the 99th percentile comes out as 0.00us.
WRK_PIPELINED = """Running 1s test @ http://127.0.0.1:18200/
  1 threads and 256 connections
  Latency Distribution
     50%    0.95ms
     75%    1.37ms
     90%    1.77ms
     99%    0.00us
  1651632 requests in 1.02s, 204.77MB read
Requests/sec: 1626073.38
Transfer/sec:    201.60MB
"""

# ... and in some rounds every percentile is 0.00us.
WRK_PIPELINED_ALL_ZERO = WRK_PIPELINED.replace("0.95ms", "0.00us").replace("1.37ms", "0.00us").replace("1.77ms", "0.00us")


class ArgumentTests(unittest.TestCase):
    def test_defaults_are_the_full_run(self):
        a = hbench.parse_args([])
        self.assertEqual((a.rounds, a.duration, a.warmup), (3, 4, 1))
        self.assertEqual(a.contenders, hbench.CONTENDERS)
        self.assertEqual([w.name for w in a.workloads], [w.name for w in hbench.WORKLOADS])
        self.assertEqual((a.idle_conns, a.tasks), (50000, 500000))
        self.assertTrue(a.profile)
        self.assertEqual(Path(a.out), hbench.BENCH)

    def test_quick_is_one_short_round_without_profile(self):
        a = hbench.parse_args(["--quick"])
        self.assertEqual((a.rounds, a.duration, a.warmup), (1, 1, 0))
        self.assertFalse(a.profile)
        self.assertLess(a.idle_conns, 50000)
        self.assertNotEqual(Path(a.out), hbench.BENCH)  # a quick run never overwrites the committed results

    def test_explicit_values_win_over_quick(self):
        a = hbench.parse_args(["--quick", "--rounds", "2", "--duration", "3", "--out", "/tmp/x"])
        self.assertEqual((a.rounds, a.duration, a.out), (2, 3, "/tmp/x"))

    def test_subsets(self):
        a = hbench.parse_args(["--contenders", "uring,nginx", "--workloads", "hello-c256,file1m-c16"])
        self.assertEqual(a.contenders, ["uring", "nginx"])
        self.assertEqual([w.name for w in a.workloads], ["hello-c256", "file1m-c16"])

    def test_rejects_bad_values(self):
        for argv in (["--contenders", "apache"], ["--workloads", "hello-c1"], ["--rounds", "0"],
                     ["--duration", "0"], ["--duration", "1.5"], ["--contenders", ""]):
            with self.subTest(argv=argv), self.assertRaises(SystemExit), open(os.devnull, "w") as null:
                stderr, sys.stderr = sys.stderr, null
                try:
                    hbench.parse_args(argv)
                finally:
                    sys.stderr = stderr

    def test_floors_only_do_hello(self):
        everyone = hbench.CONTENDERS
        self.assertEqual(hbench.contenders_for(hbench.WORKLOAD_BY_NAME["hello-c25"], everyone), everyone)
        self.assertEqual(hbench.contenders_for(hbench.WORKLOAD_BY_NAME["file4k-c64"], everyone),
                         ["uring", "epoll", "nginx", "h2o"])

    def test_install_runs_the_build_packages_script_first(self):
        # A fresh machine: bench/run may be the first command, so it installs what the build
        # needs (scripts/deps.sh) unless told to build or install nothing.
        from unittest import mock
        calls = []

        def fake_run(cmd, **kw):
            calls.append(cmd)
            return subprocess.CompletedProcess(cmd, fake_run.rc, "", "E: no network")

        for argv, rc, expect_script, expect_exit in (([], 0, True, False), (["--no-install"], 0, False, False),
                                                     (["--no-build"], 0, False, False), ([], 100, True, True)):
            with self.subTest(argv=argv, rc=rc):
                calls.clear()
                fake_run.rc = rc
                b = hbench.Bench.__new__(hbench.Bench)
                b.a = hbench.parse_args(argv + ["--contenders", "uring"])
                b.notes = []
                with mock.patch.object(hbench.subprocess, "run", fake_run), \
                        mock.patch.object(hbench, "ensure_packages", return_value=[]):
                    if expect_exit:
                        with self.assertRaisesRegex(SystemExit, "deps.sh"):
                            b.install()
                    else:
                        b.install()
                ran = [c for c in calls if c[-1].endswith("scripts/deps.sh")]
                self.assertEqual(len(ran), 1 if expect_script else 0)
                if ran:
                    self.assertTrue(Path(ran[0][-1]).is_file())

    def test_wrk_command_lines(self):
        b = hbench.Bench.__new__(hbench.Bench)
        b.a = hbench.parse_args([])
        cmd = b.wrk_cmd(hbench.WORKLOAD_BY_NAME["close-c25"], 9000, 4)
        self.assertEqual(cmd[:3], ["taskset", "-c", "1"])
        self.assertIn("-c25", cmd)
        self.assertIn("-d4s", cmd)
        self.assertEqual(cmd[cmd.index("-H") + 1], "Connection: close")
        cmd = b.wrk_cmd(hbench.WORKLOAD_BY_NAME["pipeline16-c256"], 9000, 4)
        self.assertTrue(cmd[cmd.index("-s") + 1].endswith("pipeline.lua"))
        self.assertEqual(cmd[-3:], ["http://127.0.0.1:9000/", "--", "16"])
        cmd = b.wrk_cmd(hbench.WORKLOAD_BY_NAME["file1m-c16"], 9000, 4)
        self.assertEqual(cmd[-1], "http://127.0.0.1:9000/1m.bin")


class ProcTests(unittest.TestCase):
    def test_utime_stime_are_fields_14_and_15(self):
        line = "1234 (hello) S 1 1234 1234 0 -1 4194560 300 0 0 0 1500 250 0 0 20 0 2 0 100 1000 200"
        self.assertEqual(hbench.parse_stat_line(line), (1500, 250))

    def test_comm_with_spaces_and_parentheses(self):
        line = "77 (my (odd) ) name) R 1 77 77 0 -1 0 0 0 0 0 42 7 0 0 20 0 1 0 5 6 7"
        self.assertEqual(hbench.parse_stat_line(line), (42, 7))
        self.assertEqual(hbench.stat_ppid(line), 1)

    def test_bad_lines(self):
        with self.assertRaises(ValueError):
            hbench.parse_stat_line("no parenthesis here")
        with self.assertRaises(ValueError):
            hbench.parse_stat_line("1 (x) S 1 2")

    def test_own_stat_line(self):
        with open("/proc/self/stat") as f:
            u, s = hbench.parse_stat_line(f.read())
        self.assertGreaterEqual(u + s, 0)

    def test_cpu_seconds(self):
        self.assertAlmostEqual(hbench.cpu_seconds((100, 50), (350, 100), 100), 3.0)
        self.assertAlmostEqual(hbench.cpu_seconds((0, 0), (1, 0), 1000), 0.001)

    def test_status_fields(self):
        text = "Name:\thello\nVmPeak:\t  20000 kB\nVmHWM:\t    7432 kB\nVmRSS:\t    7000 kB\n"
        self.assertEqual(hbench.parse_status_kib(text, "VmHWM"), 7432)
        self.assertEqual(hbench.parse_status_kib(text, "VmRSS"), 7000)
        self.assertIsNone(hbench.parse_status_kib(text, "VmSwap"))

    def test_process_tree_includes_children(self):
        child = subprocess.Popen(["sleep", "5"])
        try:
            self.assertIn(child.pid, hbench.proc_tree(os.getpid()))
        finally:
            child.kill()
            child.wait()


class ArithmeticTests(unittest.TestCase):
    def test_median(self):
        self.assertEqual(hbench.median([3, 1, 2]), 2)
        self.assertEqual(hbench.median([4, 1, 3, 2]), 2.5)
        self.assertEqual(hbench.median([None, 5, None]), 5)
        self.assertIsNone(hbench.median([]))
        self.assertIsNone(hbench.median([None]))

    def test_ratio(self):
        self.assertAlmostEqual(hbench.ratio(150, 100), 1.5)
        self.assertIsNone(hbench.ratio(None, 100))
        self.assertIsNone(hbench.ratio(100, 0))
        self.assertIsNone(hbench.ratio(100, None))

    def test_paired_ratio_is_the_median_of_same_round_ratios(self):
        a = {1: 200.0, 2: 100.0, 3: 330.0}
        b = {1: 100.0, 2: 100.0, 3: 100.0}
        self.assertAlmostEqual(hbench.paired_ratio(a, b), 2.0)  # ratios 2, 1, 3.3
        self.assertAlmostEqual(hbench.paired_ratio({1: 10.0, 2: 30.0}, {2: 10.0}), 3.0)  # round 1 has no partner
        self.assertIsNone(hbench.paired_ratio({1: 10.0}, {2: 10.0}))

    def test_round_ratios_keep_round_order_and_skip_gaps(self):
        a = {3: 30.0, 1: 10.0, 2: 40.0, 4: None}
        b = {1: 5.0, 2: 10.0, 3: 10.0, 4: 1.0}
        self.assertEqual(hbench.round_ratios(a, b), [2.0, 4.0, 3.0])  # round 4 has no figure for a
        self.assertEqual(hbench.round_ratios({1: 1.0}, {1: 0.0}), [])  # no division by zero

    def test_ratio_with_its_spread(self):
        self.assertEqual(hbench.fmt_ratio_spread([1.28, 1.09, 1.42]), "1.28x (1.09-1.42)")
        self.assertEqual(hbench.fmt_ratio_spread([1.5]), "1.50x")  # one round: no range to give
        self.assertEqual(hbench.fmt_ratio_spread([]), "-")
        # a goal's median keeps three decimals: 1.4966 must not read as 1.50x beside a MISS
        self.assertEqual(hbench.fmt_ratio_spread([1.4966, 1.26, 1.58], digits=3), "1.497x (1.26-1.58)")

    def _runs(self):
        mk = hbench.Run
        return [
            mk(1, "hello-c256", "uring", requests=300, rps=100, cpu_s=1.0, rps_per_cpu=300),
            mk(1, "hello-c256", "nginx", requests=100, rps=100, cpu_s=1.0, rps_per_cpu=100),
            mk(2, "hello-c256", "uring", requests=400, rps=120, cpu_s=1.0, rps_per_cpu=400),
            mk(2, "hello-c256", "nginx", requests=200, rps=110, cpu_s=1.0, rps_per_cpu=200, socket_errors=3),
            mk(3, "hello-c256", "uring", requests=500, rps=130, cpu_s=1.0, rps_per_cpu=500),
            mk(3, "hello-c256", "nginx", error="start: boom"),
        ]

    def test_summary_medians_and_flags(self):
        s = hbench.summarize(self._runs())
        u, n = s[("hello-c256", "uring")], s[("hello-c256", "nginx")]
        self.assertEqual((u.rps_per_cpu, u.rps, u.runs, u.flagged), (400, 120, 3, 0))
        self.assertEqual((n.rps_per_cpu, n.runs, n.flagged, n.socket_errors), (150, 3, 2, 3))
        # same-round ratios: 3.0 and 2.0 (round 3 failed for nginx) -> median 2.5
        self.assertAlmostEqual(hbench.compare(s, "hello-c256", "uring", "nginx"), 2.5)
        self.assertIsNone(hbench.compare(s, "hello-c256", "uring", "h2o"))

    def test_goals(self):
        s = hbench.summarize(self._runs())
        goals = {g.text.split(",")[0]: g for g in hbench.evaluate_goals(s, {"uring": {
            "idle_bytes_per_conn": 3000.0, "idle_conns": 19800, "task_rss_bytes": 170.0}})}
        self.assertEqual(goals["io_uring >= 1.5x nginx"].verdict, "PASS")
        # the median of rounds 1 and 2 (3.0 and 2.0), their range, and how many met 1.5x alone
        self.assertEqual(goals["io_uring >= 1.5x nginx"].measured, "2.500x (2.00-3.00); 2 of 2 rounds meet it")
        self.assertEqual(goals["io_uring >= 1.3x h2o"].verdict, "n/a")
        idle = [g for g in goals.values() if g.text.startswith("idle")][0]
        self.assertEqual((idle.verdict, idle.measured), ("MISS", "3,000 B"))
        self.assertIn("19,800", idle.text)
        task = [g for g in goals.values() if g.text.startswith("500,000")][0]
        self.assertEqual(task.verdict, "PASS")

    def test_tables_render(self):
        s = hbench.summarize(self._runs())
        table = hbench.results_table(s, [hbench.WORKLOAD_BY_NAME["hello-c256"]], ["uring", "nginx"])
        self.assertIn("| hello-c256 | hellepoll io_uring | 120 | 400 |", table)
        self.assertIn("FLAGGED 2/3 runs: 3 socket errors", table)
        self.assertIn("| hello-c256 | req per CPU-s | - | 2.50x (2.00-3.00) | - |",
                      hbench.ratio_table(s, [hbench.WORKLOAD_BY_NAME["hello-c256"]]))

    def test_run_from_wrk(self):
        r = hbench.run_from_wrk(1, "hello-c256", "uring", hbench.parse_wrk(WRK_PLAIN), 2.0, 5000)
        self.assertEqual(r.requests, 272853)
        self.assertAlmostEqual(r.rps_per_cpu, 272853 / 2.0)
        self.assertAlmostEqual(r.p99_ms, 9.45)
        self.assertTrue(r.clean)
        r = hbench.run_from_wrk(1, "file100m-c4", "uring", hbench.parse_wrk(WRK_ERRORS), 0.0, None)
        self.assertIsNone(r.rps_per_cpu)  # no CPU time measured: no figure, not a division by zero
        self.assertEqual((r.socket_errors, r.non2xx), (10, 7))
        self.assertFalse(r.clean)

    def test_result_line(self):
        out = "idle_conns: stuff\nRESULT conns=19800 failed=0 bytes_per_conn=10626.1\nrerun: x\n"
        self.assertEqual(hbench.parse_result_line(out), {"conns": 19800.0, "failed": 0.0, "bytes_per_conn": 10626.1})
        self.assertEqual(hbench.parse_result_line("nothing"), {})


class RoundOrderTests(unittest.TestCase):
    def test_every_other_round_runs_the_contenders_in_reverse(self):
        cs = ["uring", "epoll", "nginx"]
        self.assertEqual(hbench.round_order(cs, 1), ["uring", "epoll", "nginx"])
        self.assertEqual(hbench.round_order(cs, 2), ["nginx", "epoll", "uring"])
        self.assertEqual(hbench.round_order(cs, 3), ["uring", "epoll", "nginx"])
        self.assertEqual(cs, ["uring", "epoll", "nginx"])  # the caller's list is left alone


class WrkOutputTests(unittest.TestCase):
    def test_plain_run(self):
        w = hbench.parse_wrk(WRK_PLAIN)
        self.assertEqual(w["requests"], 272853)
        self.assertAlmostEqual(w["duration_s"], 3.05)
        self.assertAlmostEqual(w["rps"], 89531.10)
        self.assertAlmostEqual(w["bytes"], 38.77 * 2**20)
        self.assertAlmostEqual(w["bytes_per_s"], 12.72 * 2**20)
        self.assertEqual({k: round(v, 6) for k, v in w["latency_ms"].items()}, {50.0: 1.04, 75.0: 4.85, 90.0: 6.17, 99.0: 9.45})
        self.assertEqual(sum(w["socket_errors"].values()), 0)
        self.assertEqual(w["non2xx"], 0)

    def test_errors_non2xx_and_units(self):
        w = hbench.parse_wrk(WRK_ERRORS)
        self.assertEqual(w["socket_errors"], {"connect": 1, "read": 2, "write": 3, "timeout": 4})
        self.assertEqual(w["non2xx"], 7)
        self.assertAlmostEqual(w["duration_s"], 60.0)
        self.assertAlmostEqual(w["latency_ms"][50.0], 0.812)
        self.assertAlmostEqual(w["latency_ms"][75.0], 1500.0)
        self.assertAlmostEqual(w["latency_ms"][99.0], 120000.0)
        self.assertAlmostEqual(w["bytes_per_s"], 1.95 * 2**30)

    def test_alternative_non2xx_wording(self):
        w = hbench.parse_wrk(WRK_PLAIN.replace("Requests/sec", "  Non-2xx or Non-3xx responses: 12\nRequests/sec"))
        self.assertEqual(w["non2xx"], 12)

    def test_pipelined_zero_percentile_is_dropped(self):
        w = hbench.parse_wrk(WRK_PIPELINED)
        self.assertNotIn(99.0, w["latency_ms"])
        self.assertAlmostEqual(w["latency_ms"][90.0], 1.77)

    def test_pipelined_all_zero_percentiles_are_dropped(self):
        w = hbench.parse_wrk(WRK_PIPELINED_ALL_ZERO)
        self.assertEqual(w["latency_ms"], {})
        self.assertEqual(w["requests"], 1651632)

    def test_units(self):
        self.assertAlmostEqual(hbench.parse_time("250.00us"), 250e-6)
        self.assertAlmostEqual(hbench.parse_time("2.5ms"), 2.5e-3)
        self.assertAlmostEqual(hbench.parse_time("1.02s"), 1.02)
        self.assertAlmostEqual(hbench.parse_time("1.50m"), 90.0)
        self.assertAlmostEqual(hbench.parse_size("512.00B"), 512)
        self.assertAlmostEqual(hbench.parse_size("2.00KB"), 2048)
        self.assertAlmostEqual(hbench.parse_size("1.00GB"), 2**30)
        for bad in ("12", "3 parsecs", ""):
            with self.assertRaises(ValueError):
                hbench.parse_time(bad)
        with self.assertRaises(ValueError):
            hbench.parse_size("12 apples")

    def test_garbage_is_an_error(self):
        with self.assertRaises(ValueError):
            hbench.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


class ProfileSummaryTests(unittest.TestCase):
    def test_perf_report(self):
        by_dso = "# Overhead  Shared Object\n#\n    11.05%  hello\n    83.24%  [kernel.kallsyms]\n     0.09%  liburing.so.2.3\n"
        by_sym = ("# comment\n"
                  "     1.42%  hello              [.] hellepoll::http::Connection::fill\n"
                  "     9.79%  [kernel.kallsyms]  [k] _raw_spin_unlock_irqrestore\n")
        text = hbench.summarize_perf(by_sym, by_dso)
        lines = text.splitlines()
        self.assertEqual(lines[0], "by binary: kernel 83.2%, hello 11.1%")
        self.assertIn("9.8%  kernel     _raw_spin_unlock_irqrestore", lines[2])  # sorted, biggest first
        self.assertIn("hellepoll::http::Connection::fill", lines[3])

    def test_callgrind_annotate(self):
        report = ("900,881,986 (100.0%)  PROGRAM TOTALS\n"
                  "66,188,948 ( 7.35%)  ./malloc/./malloc/malloc.c:_int_free [/usr/lib/x86_64-linux-gnu/libc.so.6]\n"
                  "59,096,925 ( 6.56%)  ???:hellepoll::http::RequestParser::parse(std::string_view) [/b/hello]\n")
        lines = hbench.summarize_callgrind(report).splitlines()
        self.assertEqual(len(lines), 3)
        self.assertIn("7.3%  libc.so.6  _int_free", lines[1])
        self.assertIn("6.6%  hello      hellepoll::http::RequestParser::parse(std::string_view)", lines[2])


class CallgrindSelfTests(unittest.TestCase):
    def test_self_cost_excludes_calls_and_resolves_compressed_names(self):
        import callgrind_self
        text = ("events: Ir\n"
                "fn=(1) main\n"
                "0 10\n"
                "cfn=(2) work\n"
                "calls=3 0\n"
                "0 500\n"        # inclusive cost of the calls: not main's own
                "+1 5\n"
                "fn=(2) work\n"
                "0 480\n"
                "fn=(1)\n"        # main again, by its number
                "* 7\n")
        costs = callgrind_self.self_costs(text.splitlines(keepends=True))
        self.assertEqual(costs["main"], 22)
        self.assertEqual(costs["work"], 480)
        self.assertEqual(sum(costs.values()), 502)


class ConfigTests(unittest.TestCase):
    def test_nginx_config(self):
        conf = hbench.nginx_config(Path("/tmp/r"), 8123, Path("/tmp/files"))
        for needle in ("worker_processes 1;", "daemon off;", "access_log off;", "error_log /tmp/r/error.log;",
                       "keepalive_requests 1000000;", "listen 127.0.0.1:8123;", 'return 200 "Hello, World!";',
                       "default_type text/plain;", "root /tmp/files;"):
            self.assertIn(needle, conf)

    def test_h2o_configs(self):
        hello = hbench.h2o_config(Path("/tmp/r"), 8124, Path("/tmp/files"), "hello", True)
        self.assertIn("num-threads: 1", hello)
        self.assertIn("mruby.handler", hello)
        self.assertIn("port: 8124", hello)
        self.assertNotIn("access-log", hello)
        self.assertIn("file.file: /tmp/files/hello.txt", hbench.h2o_config(Path("/tmp/r"), 1, Path("/tmp/files"), "hello", False))
        self.assertIn("file.dir: /tmp/files", hbench.h2o_config(Path("/tmp/r"), 1, Path("/tmp/files"), "file", True))

    def test_results_md_markers_keep_the_prose(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "RESULTS.md"
            p.write_text(f"# Title\n\nprose before\n\n{hbench.BEGIN_MARK}\nold\n{hbench.END_MARK}\n\nprose after\n")
            hbench.update_results_md(p, "NEW TABLE")
            text = p.read_text()
            self.assertIn("prose before", text)
            self.assertIn("prose after", text)
            self.assertIn("NEW TABLE", text)
            self.assertNotIn("old", text)


# ----------------------------------------------------------------------------- floors

def start_floor(path):
    proc = subprocess.Popen([path, "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "listening on http://127.0.0.1:" not in line:
        proc.kill()
        proc.wait()
        err = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
        return None, line + err
    port = int(line.rsplit(":", 1)[1].strip().rstrip("/"))
    return proc, port


def read_exactly(sock, n, timeout=5.0):
    sock.settimeout(timeout)
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


REQ = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n"


class AbPairTests(unittest.TestCase):
    """bench/ab_pair.py: what it reads from wrk and from /proc."""

    def test_wrk_figures(self):
        self.assertEqual(ab_pair.parse_wrk(WRK_PLAIN), (272853, 1.04, 9.45))

    def test_output_without_latency_counts_requests_with_nan_latency(self):
        # wrk under a pipelining script prints no usable percentiles.
        n, p50, p99 = ab_pair.parse_wrk("  272853 requests in 3.05s, 38.77MB read\n")
        self.assertEqual(n, 272853)
        self.assertTrue(math.isnan(p50) and math.isnan(p99))

    def test_output_without_a_request_count_is_refused(self):
        with self.assertRaises(RuntimeError):
            ab_pair.parse_wrk("unable to connect to 127.0.0.1:18400 Connection refused\n")

    def test_wrk_arguments_are_everything_after_the_first_double_dash(self):
        self.assertEqual(ab_pair.split_wrk_args(["--rounds", "2", "a=x", "--", "-s", "pipeline.lua", "--", "16"]),
                         (["--rounds", "2", "a=x"], ["-s", "pipeline.lua", "--", "16"]))
        self.assertEqual(ab_pair.split_wrk_args(["a=x", "b=y"]), (["a=x", "b=y"], []))

    def test_machine_names_the_kernel(self):
        self.assertIn(os.uname().release, ab_pair.machine())

    def test_cpu_ticks_are_this_process_user_plus_system_time(self):
        deadline = time.process_time() + 0.3
        while time.process_time() < deadline:  # burn some CPU so the figure is not 0
            pass
        t = os.times()
        ticks = ab_pair.cpu_ticks(os.getpid())
        self.assertAlmostEqual(ticks / ab_pair.TICK, t.user + t.system, delta=0.05)
        self.assertGreater(ticks, 0)


class FloorServerMixin:
    env_var = ""

    def setUp(self):
        # Failures, never skips: ctest sets the variable, and a floor bench/run uses must be
        # tested (as the io_uring backend's cases fail where io_uring is refused).
        path = os.environ.get(self.env_var)
        if not path or not os.path.exists(path):
            self.fail(f"{self.env_var} is not set to a built floor server")
        self.proc, self.port = start_floor(path)
        if self.proc is None:
            self.fail("floor server did not start: " + str(self.port))
        # One canned reply, learned from the first exchange, is what every later one must equal.
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.sendall(REQ)
            head = b""
            s.settimeout(5)
            while b"\r\n\r\n" not in head:
                head += s.recv(4096)
            length = [h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")]
            total = head.index(b"\r\n\r\n") + 4 + int(length[0].split(b":")[1])
            reply = head + read_exactly(s, total - len(head))
        self.reply = reply
        self.assertTrue(reply.startswith(b"HTTP/1.1 200 OK\r\n"))
        self.assertTrue(reply.endswith(b"\r\n\r\nHello, World!"))

    def tearDown(self):
        proc = getattr(self, "proc", None)
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    def test_three_pipelined_requests_get_three_replies(self):
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.sendall(REQ * 3)
            got = read_exactly(s, 3 * len(self.reply))
            self.assertEqual(got, self.reply * 3)
            s.settimeout(0.2)
            with self.assertRaises(socket.timeout):
                s.recv(1)  # and nothing more

    def test_keep_alive_and_requests_split_anywhere(self):
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for _ in range(3):
                s.sendall(REQ)
                self.assertEqual(read_exactly(s, len(self.reply)), self.reply)
            for i in range(len(REQ)):  # one byte at a time: the "\r\n\r\n" spans reads
                s.sendall(REQ[i:i + 1])
                time.sleep(0.001)
            self.assertEqual(read_exactly(s, len(self.reply)), self.reply)

    def test_connection_close(self):
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            s.settimeout(5)
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break  # the server closed after its reply
                data += chunk
            self.assertIn(b"\r\nConnection: close\r\n", data)
            self.assertTrue(data.endswith(b"Hello, World!"))
            self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 1)

    def test_client_close_and_half_close(self):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.close()  # a client that leaves without a request costs nothing visible
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.sendall(REQ * 2)
            s.shutdown(socket.SHUT_WR)  # half-close: the replies still come, then EOF
            self.assertEqual(read_exactly(s, 2 * len(self.reply)), self.reply * 2)
            s.settimeout(5)
            self.assertEqual(s.recv(1), b"")

    def test_sigterm_stops_it(self):
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=5), 0)


class FloorEpollTests(FloorServerMixin, unittest.TestCase):
    env_var = "FLOOR_EPOLL"


class FloorUringTests(FloorServerMixin, unittest.TestCase):
    env_var = "FLOOR_URING"


if __name__ == "__main__":
    unittest.main()
