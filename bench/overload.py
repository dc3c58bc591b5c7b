"""Overload run: 512 concurrent clients for 20 s against the service on loopback, then recovery.

    python -m bench.overload [--clients 512] [--duration 20] [--max-queue 64]

Every request must be answered 200 or 503 (with Retry-After), with no transport errors; we report the
counts, the peak RSS, and how soon single-client latency is back to normal after the load stops.
"""

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from bench.__main__ import bodies_for, hey_command, parse_hey, peak_rss_mb
from support.images import png
from support.server import running_service

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "mnist_test_300.npz"


def latency_ms(base: str, data: bytes, n: int = 20) -> float:
    times = []
    with httpx.Client() as client:
        for _ in range(n):
            t = time.perf_counter()
            client.post(base + "/predict", files={"file": ("d.png", data, "image/png")}).raise_for_status()
            times.append(1000 * (time.perf_counter() - t))
    return statistics.median(times)


async def burst(base: str, data: bytes, n: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        return await asyncio.gather(*[client.post(base + "/predict", files={"file": ("d.png", data, "image/png")})
                                      for _ in range(n)])


def run(clients: int = 512, duration: float = 20, max_queue: int = 64) -> dict:
    with np.load(FIXTURE) as f:
        digit = png(f["images"][0])
    with tempfile.TemporaryDirectory() as tmp, running_service(max_queue=max_queue) as (base, proc):
        body = bodies_for(Path(tmp))["digit"]
        before = latency_ms(base, digit)
        out = subprocess.run(hey_command(base + "/predict", body, clients, duration), capture_output=True, text=True).stdout
        ended = time.monotonic()
        statuses = {int(c): int(n) for c, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", out)}
        load = parse_hey(out)
        recovery_s, after = None, None
        while time.monotonic() - ended < 30:
            after = latency_ms(base, digit, 10)
            if after <= max(3 * before, before + 5):
                recovery_s = time.monotonic() - ended
                break
        shed = asyncio.run(burst(base, digit, 300))
        shed_503 = [r for r in shed if r.status_code == 503]
        return {"clients": clients, "duration_s": duration, "max_queue": max_queue, "statuses": statuses,
                "transport_errors": load["errors"] - sum(n for c, n in statuses.items() if c != 200),
                "req_per_s": load["rps"], "p99_ms": load["p99"], "peak_rss_mb": round(peak_rss_mb(proc.pid)),
                "latency_before_ms": round(before, 2), "latency_after_ms": round(after, 2),
                "recovery_s": None if recovery_s is None else round(recovery_s, 2),
                "burst_statuses": sorted({r.status_code for r in shed}),
                "burst_503_with_retry_after": sum("retry-after" in r.headers for r in shed_503),
                "burst_503": len(shed_503), "alive": proc.poll() is None}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--clients", type=int, default=512)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--max-queue", type=int, default=64, help="the service's MAX_QUEUE during the run")
    args = p.parse_args()
    print(json.dumps(run(args.clients, args.duration, args.max_queue), indent=2))


if __name__ == "__main__":
    main()
