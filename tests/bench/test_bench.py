"""The benchmark script works end to end and reads hey's output right (no timing is asserted)."""

import re
import subprocess
import sys

from bench.__main__ import cpu_model, medians, parse_hey, round_ratios
from tests.utils import ROOT

HEY_OK = """
Summary:
  Requests/sec:	1234.5678

Latency distribution:
  10% in 0.0010 secs
  50% in 0.0020 secs
  99% in 0.0150 secs

Status code distribution:
  [200]	24000 responses
  [503]	12 responses
"""

HEY_REFUSED = """
Summary:
  Requests/sec:	53866.3118

Status code distribution:

Error distribution:
  [53889]	Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused
"""


def test_hey_output_is_parsed_and_every_non_200_counts_as_an_error():
    r = parse_hey(HEY_OK)
    assert (r["rps"], r["p50"], r["p99"], r["ok"], r["errors"]) == (1234.5678, 2.0, 15.0, 24000, 12)
    refused = parse_hey(HEY_REFUSED)
    assert refused["ok"] == 0 and refused["errors"] == 53889


def test_medians_are_taken_per_server_and_load_and_errors_summed():
    rows = [{"server": "s", "load": "x32", "rps": v, "p50": v / 100, "p99": v / 10, "errors": e, "rss": 100 + v,
             "ready": 1.0} for v, e in ((900, 0), (1000, 1), (2000, 2))]
    (m,) = medians(rows)
    assert (m["rps"], m["p99"], m["errors"], m["rss"]) == (1000, 100, 3, 1100)


def test_the_paired_ratio_divides_each_rounds_service_by_the_same_rounds_floor():
    rows = [{"server": server, "load": "/predict x32", "round": i, "rps": rps}
            for i, (floor, service) in enumerate(((1000, 500), (2000, 1400), (4000, 2400)))
            for server, rps in (("floor", floor), ("service", service))]
    assert round_ratios(rows, 32) == ("service/floor at 32 clients, paired by round: median 0.60, min 0.50, max 0.70 "
                                      "(3 rounds)")
    assert round_ratios([r for r in rows if r["server"] == "floor"], 32) == ""


def test_a_short_benchmark_run_writes_the_table_and_the_ratios(tmp_path):
    out = tmp_path / "RESULTS.md"
    run = subprocess.run([sys.executable, "-m", "bench", "--servers", "floor", "service", "--rounds", "1",
                          "--duration", "1", "--warmup", "0.5", "--out", str(out)], cwd=ROOT, capture_output=True,
                         text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-2000:]
    report = out.read_text()
    for row in ("| floor | /predict x1 |", "| floor | /predict x32 |", "| service | /predict x32 |",
                "| service | /predict/number (5 digits, 1000x300 PNG) x1 |", "| service | mixed x32",
                "| service | /v2 infer, 64 image(s) per request (binary BYTES) x8 |",
                "| service | /predict 12 MP phone JPEG x8 |", "| service | /predict x512, MAX_QUEUE=64: 200s per second |"):
        assert row in report
    assert "service/floor at 32 clients:" in report
    assert re.search(r"service/floor at 32 clients, paired by round: median [\d.]+, min [\d.]+, max [\d.]+ \(1 rounds\)",
                     report)
    assert "service goodput at 512 clients (MAX_QUEUE=64) / its throughput at 32 clients:" in report
    assert re.search(r"64 image\(s\) per request \(binary BYTES\) x8: \d+ images/s = [\d.]+x the upload route", report)
    summary = report.split("Every round")[0]
    rows = [line.split("|") for line in summary.splitlines() if line.startswith(("| floor", "| service"))]
    assert len(rows) == 13 and all(float(r[3]) > 0 and r[6].strip() == "0" for r in rows), "req/s > 0, no errors"


def test_the_floor_runs_two_worker_processes_as_the_service_does():
    """The reference the service is held to is the bare stack with the service's worker count (2)."""
    from app.core.config import Settings
    from bench.__main__ import SERVERS

    floor = SERVERS["floor"]
    assert floor[floor.index("--workers") + 1] == str(Settings().workers) == "2"


def test_the_results_name_the_cpu_and_whether_it_has_avx512_vnni(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Some Xeon\nflags\t\t: fpu avx2 avx512f avx512_vnni\n")
    assert cpu_model(info) == "Some Xeon, AVX-512 VNNI"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx avx2\n")
    assert cpu_model(info) == "AMD EPYC, AVX2, no AVX-512 VNNI"
    assert cpu_model(tmp_path / "missing") == "unknown CPU"
