"""Run the real service (`python -m app`) as a subprocess on a free loopback port and wait for it to
be ready: for the tests and the benchmarks."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, exited: Callable[[], str | None], budget: float,
               logs: Callable[[], str] = str) -> float:
    """Poll http://127.0.0.1:port/ready until it answers 200; the seconds that took. `exited` says
    what the server left behind once it is gone (None while it runs); that, or the budget running out,
    fails the test (with `logs()` on a timeout)."""
    started = time.monotonic()
    # One client for every poll: `httpx.get` builds a client (and its TLS context) per call, ~27 ms of
    # CPU each, which on a 2-core machine slowed the very start being timed by a third of a core.
    with httpx.Client(timeout=1) as client:
        while time.monotonic() - started < budget:
            gone = exited()
            if gone is not None:
                raise AssertionError(f"the service exited during startup: {gone}")
            try:
                if client.get(f"http://127.0.0.1:{port}/ready").status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
    raise AssertionError(f"not ready within {budget:g}s {logs()}")


@contextlib.contextmanager
def running_service(**env):
    """Yields (base_url, process); stops the process with SIGTERM on exit."""
    port = free_port()
    environment = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "DEVICE": "cpu", "LOG_LEVEL": "warning",
                   **{k.upper(): str(v) for k, v in env.items()}}
    proc = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=environment, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(port, lambda: None if proc.poll() is None else f"status {proc.returncode}", 60)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
