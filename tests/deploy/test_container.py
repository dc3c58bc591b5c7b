"""The container contract, run as a subprocess exactly as the image's CMD runs it (`python -m app`)."""

import concurrent.futures
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

from support import server
from support.images import drawn_one
from support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
READY_BUDGET_S = 30  # the Cloud Run startup probe allows 30 x 1 s


def start(port: int, **env) -> subprocess.Popen:
    environment = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "DEVICE": "cpu", **env}
    return subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_ready(port: int, proc: subprocess.Popen, budget: float) -> float:
    return server.wait_ready(port, lambda: None if proc.poll() is None else proc.stdout.read(), budget)


def big_photo() -> bytes:
    """A 2000x2000 noisy PNG with a "1": slow enough to decode and preprocess that requests are surely in
    flight (a JPEG would not do: large JPEGs are decoded at a reduced scale)."""
    rng = np.random.default_rng(0)
    arr = (200 + rng.normal(0, 10, (2000, 2000))).clip(0, 255).astype(np.uint8)
    arr[600:1400, 950:1050] = 20
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_starts_on_the_given_port_and_is_ready_within_the_budget():
    port = free_port()
    proc = start(port)
    try:
        elapsed = wait_ready(port, proc, READY_BUDGET_S)
        assert httpx.get(f"http://127.0.0.1:{port}/health").json() == {"status": "ok"}
        print(f"ready after {elapsed:.2f}s")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_sigterm_lets_in_flight_requests_finish_and_exits_0_within_10s():
    port = free_port()
    proc = start(port)
    wait_ready(port, proc, READY_BUDGET_S)
    photo = big_photo()

    def upload(_):
        return httpx.post(f"http://127.0.0.1:{port}/predict", files={"file": ("p.png", photo, "image/png")}, timeout=20)

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(upload, i) for i in range(12)]
        time.sleep(0.1)  # the uploads are being read and preprocessed now
        assert not all(f.done() for f in futures), "requests finished before SIGTERM; the test proves nothing"
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        answers = [f.result() for f in futures]
    code = proc.wait(10)
    took = time.monotonic() - sent
    assert [a.status_code for a in answers] == [200] * 12
    assert code == 0 and took < 10
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)


def test_after_sigterm_new_requests_are_answered_during_the_drain_while_ready_says_503():
    port = free_port()
    proc = start(port, DRAIN_S="3")
    wait_ready(port, proc, READY_BUDGET_S)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)  # the supervisor passes it on to both workers within ~0.5 s
    while (ready := httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5)).status_code == 200:
        assert time.monotonic() - sent < 2, "no worker started draining within 2 s of SIGTERM"
        time.sleep(0.05)
    time.sleep(0.3)  # the other worker has the signal too
    answer = httpx.post(f"http://127.0.0.1:{port}/predict", files={"file": ("1.png", drawn_one(), "image/png")}, timeout=5)
    assert ready.status_code == 503 and ready.json()["draining"] is True
    # answered, by a worker that was draining (the header is only sent then), on a new connection
    assert answer.status_code == 200 and answer.json()["digit"] == 1 and answer.headers["connection"] == "close"
    code = proc.wait(15)
    assert code == 0 and time.monotonic() - sent >= 3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here; the CUDA path is proved where one exists")
def test_inference_runs_on_cuda_when_available():
    from fastapi.testclient import TestClient

    from app.core.config import Settings
    from app.main import create_app

    with TestClient(create_app(Settings(device="auto"))) as client:
        store = client.app.state.store
        assert {(m.runtime.name, m.runtime.device) for m in store.models.values()} == {("torch", "cuda")}
        assert all(next(m.runtime.scorer.parameters()).is_cuda for m in store.models.values())
        r = client.post("/predict", files={"file": ("one.png", drawn_one(), "image/png")})
        assert r.status_code == 200 and r.json()["digit"] == 1


def failed_start(port: int, **env) -> tuple[int, str]:
    """Start the service expecting it to refuse: (exit status, everything it printed)."""
    proc = start(port, **env)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("still running after 30 s: a startup failure must end the process") from None
    return proc.returncode, out


def assert_one_error_line(out: str, *words: str) -> None:
    errors = [line for line in out.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "Traceback" not in out, out
    assert all(w in errors[0] for w in words) and "Fix:" in errors[0], errors[0]


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_requested_without_a_gpu_exits_non_zero_with_one_error_line():
    status, out = failed_start(free_port(), DEVICE="cuda")
    assert status != 0
    assert_one_error_line(out, "DEVICE=cuda", "CUDA is not available")


def test_an_unreadable_model_dir_exits_non_zero_naming_it(tmp_path):
    status, out = failed_start(free_port(), MODEL_DIR=str(tmp_path / "missing"))
    assert status != 0
    assert_one_error_line(out, "MODEL_DIR", "missing")
    status, out = failed_start(free_port(), MODEL_DIR=str(tmp_path))
    assert status != 0
    assert_one_error_line(out, "holds no checkpoints")


def test_a_port_in_use_exits_non_zero_naming_it():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, out = failed_start(port)
    assert status != 0
    assert_one_error_line(out, f"127.0.0.1:{port}", "in use")


def test_an_invalid_setting_exits_non_zero_naming_the_variable():
    status, out = failed_start(free_port(), WORKERS="zero")
    assert status != 0
    assert_one_error_line(out, "WORKERS")
