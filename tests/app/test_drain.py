"""SIGTERM's drain (app/core/drain.py): the process keeps answering for DRAIN_S while it asks to be taken
out of rotation, then the server's own SIGTERM handling stops it. The whole process is exercised in
tests/deploy/test_container.py."""

import asyncio
import os
import signal
import time
from contextlib import contextmanager

import pytest

from app.core.drain import Drain, drain_on_sigterm
from support.images import drawn_one
from tests.utils import make_client


@pytest.fixture()
def draining_client():
    with make_client() as client:
        client.app.state.drain.started = True
        yield client


def test_a_draining_service_says_it_is_not_ready_on_both_readiness_routes(draining_client):
    ready = draining_client.get("/ready")
    assert ready.status_code == 503 and ready.json()["ready"] is False and ready.json()["draining"] is True
    assert set(ready.json()["models"].values()) == {"ready"}
    assert draining_client.get("/v2/health/ready").status_code == 503
    assert draining_client.get("/health").status_code == 200  # alive: no restart wanted


def test_a_draining_service_still_answers_and_asks_clients_to_close_the_connection(draining_client):
    for path in ("/predict", "/predict/overlap"):  # the fast lane's answer and...
        r = draining_client.post(path, files={"file": ("1.png", drawn_one(), "image/png")})
        assert r.status_code == 200 and r.headers["connection"] == "close", (path, r.text)
    r = draining_client.post("/predict", content=b"x", headers={"content-type": "text/plain"})  # ...the route's
    assert r.status_code in (415, 422) and r.headers["connection"] == "close"
    assert draining_client.get("/ready").headers["connection"] == "close"


def test_a_service_that_is_not_draining_keeps_connections_open():
    with make_client() as client:
        r = client.post("/predict", files={"file": ("1.png", drawn_one(), "image/png")})
        assert r.status_code == 200 and "connection" not in r.headers
        assert client.get("/ready").json()["draining"] is False


@contextmanager
def sigterm_handler(handler):
    """`handler` installed for SIGTERM (a stand-in for the server's) while the block runs."""
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield handler
    finally:
        signal.signal(signal.SIGTERM, previous)


def sigterm_times(drain_s: float) -> tuple[Drain, list[float], float]:
    """Under drain_on_sigterm with a stand-in server handler: SIGTERM to this process, then a second
    one once the first reached the server. Returns the drain, when the server heard each (seconds after
    the first SIGTERM), and when the drain had started by."""
    heard: list[float] = []
    drain = Drain()
    sent = 0.0

    async def main():
        nonlocal sent
        with drain_on_sigterm(drain, drain_s):
            sent = time.monotonic()
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(0.01)
            started_by = time.monotonic() - sent if drain.started else None
            while not heard:
                await asyncio.sleep(0.01)
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.sleep(0.05)
        return started_by

    with sigterm_handler(lambda signum, frame: heard.append(time.monotonic() - sent)):
        started_by = asyncio.run(main())
    return drain, heard, started_by


def handlers_around(drain_s: float):
    """(the server's handler, the one installed inside drain_on_sigterm's block, the one after it)."""
    async def main():
        with drain_on_sigterm(Drain(), drain_s):
            inside = signal.getsignal(signal.SIGTERM)
        return inside, signal.getsignal(signal.SIGTERM)

    with sigterm_handler(lambda signum, frame: None) as server:
        return (server, *asyncio.run(main()))


def test_the_first_sigterm_starts_the_drain_and_reaches_the_server_only_after_it():
    drain, heard, started_by = sigterm_times(0.3)
    assert drain.started and started_by is not None and started_by < 0.3
    assert len(heard) == 2
    assert 0.3 <= heard[0] < 2.0
    assert heard[1] - heard[0] < 0.3  # the second SIGTERM went straight to the server


def test_no_drain_leaves_the_server_handler_in_place():
    server, inside, after = handlers_around(0)
    assert inside is server and after is server


def test_the_server_handler_is_back_after_the_block():
    server, inside, after = handlers_around(1.0)
    assert inside is not server and after is server
