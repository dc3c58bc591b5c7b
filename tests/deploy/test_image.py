"""The `cpu` image built from this checkout and run for real: non-root on a read-only root FS, ready,
right on every route, `healthy` by its own HEALTHCHECK, and a clean exit on `docker stop` with requests
in flight; and docker compose's `cpu` profile up to `healthy` (published on a loopback port) and down.

The base is python:3.11-slim-bookworm when it can be pulled, else a stand-in made from Debian packages
(`.ci/base-image`). Containers use the host's network on a free loopback port. Without a Docker
daemon these tests skip and say so; in CI (CI=true) that is a failure instead: `.ci/run` starts one.
"""

import concurrent.futures
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from support import server
from support.drawing import draw
from support.images import phone_heic, png
from support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
FLAVOUR = os.environ.get("IMAGE_FLAVOUR", "cpu")  # `make image-test-cuda`: cu130, checked on CPU the same way
IMAGE = f"digitserve:{FLAVOUR}"
OWN_LAYERS_MAX_MB = 250  # the cpu flavour's bar


def docker_problem() -> str | None:
    if not shutil.which("docker"):
        return "docker is not installed (apt-get install -y docker.io docker-compose mmdebstrap)"
    if subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode != 0:
        return "no Docker daemon answers (as root: bash .ci/docker-up)"
    return None


def sh(*args: str, check: bool = True, timeout: float = 900, **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, **kw)
    assert not check or result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def base() -> str:
    problem = docker_problem()
    if problem and os.environ.get("CI") == "true":
        pytest.fail(f"the image tests must run in CI: {problem}")
    if problem:
        pytest.skip(f"image tests not run: {problem}")
    return sh("bash", ".ci/base-image").stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def image(base) -> str:
    started = time.monotonic()
    sh("docker", "build", "-q", "--network", "host", "--build-arg", f"PYTHON_IMAGE={base}",
       "--build-arg", f"TORCH_FLAVOUR={FLAVOUR}", "-t", IMAGE, ".", timeout=1800)
    print(f"built {IMAGE} on {base} in {time.monotonic() - started:.0f}s")
    return IMAGE


def size_mb(image: str) -> float:
    return int(sh("docker", "image", "inspect", image, "--format", "{{.Size}}").stdout) / 1e6


def run_container(image: str, port: int, **env) -> str:
    variables = {"PORT": str(port), "HOST": "127.0.0.1", "DEVICE": "cpu", **env}
    flags = [item for k, v in variables.items() for item in ("-e", f"{k}={v}")]
    return sh("docker", "run", "-d", "--network", "host", "--read-only", "--tmpfs", "/tmp", *flags, image).stdout.strip()


def state(container: str) -> dict:
    return json.loads(sh("docker", "inspect", container, "--format", "{{json .State}}").stdout)


def wait_ready(port: int, container: str, budget: float = 30) -> float:
    def logs() -> str:
        out = sh("docker", "logs", container)
        return (out.stdout + out.stderr)[-2000:]

    return server.wait_ready(port, lambda: None if state(container)["Running"] else logs(), budget, logs)


def wait_healthy(container: str, budget: float = 90) -> float:
    started = time.monotonic()
    while time.monotonic() - started < budget:
        health = state(container).get("Health", {}).get("Status")
        if health == "healthy":
            return time.monotonic() - started
        assert health in ("starting", None), f"health {health}"
        time.sleep(1)
    raise AssertionError(f"not healthy within {budget}s")


@pytest.fixture
def container(image):
    port = free_port()
    name = run_container(image, port)
    yield name, port
    sh("docker", "rm", "-f", name, check=False)


def post(port: int, route: str, data: bytes, **fields) -> httpx.Response:
    return httpx.post(f"http://127.0.0.1:{port}{route}", files={"file": ("x.png", data, "image/png")}, data=fields,
                      timeout=30)


def test_the_cpu_image_is_small_and_runs_as_a_non_root_user(image, base):
    own = size_mb(image) - size_mb(base)
    print(f"{image}: {size_mb(image):.0f} MB in all, own layers {own:.0f} MB on {base}")
    assert own <= OWN_LAYERS_MAX_MB or FLAVOUR != "cpu"
    assert sh("docker", "image", "inspect", image, "--format", "{{.Config.User}}").stdout.strip() == "10001:10001"


def test_the_container_is_ready_right_on_every_route_and_turns_healthy(container, mnist_fixture):
    name, port = container
    print(f"ready after {wait_ready(port, name):.1f}s")
    images, labels = mnist_fixture
    digit = post(port, "/predict", png(images[0]))
    assert digit.status_code == 200 and digit.json()["digit"] == int(labels[0])
    total = post(port, "/predict/sum", png(images[1]), number="4")
    assert total.status_code == 200 and total.json()["sum"] == int(labels[1]) + 4
    pair = ((images[2].astype(np.float32) + images[3]) / 2).astype(np.uint8)
    overlap = post(port, "/predict/overlap", png(pair))
    assert overlap.status_code == 200 and set(overlap.json()["digits"]) == {int(labels[2]), int(labels[3])}
    number = post(port, "/predict/number", draw("2025", height=100, pen=10, background="white"))
    assert number.status_code == 200 and number.json()["number"] == "2025"
    photo = post(port, "/predict", phone_heic(images[4], (1008, 756)))  # HEIC: the wheel's own libheif in the image
    assert photo.status_code == 200 and photo.json()["digit"] == int(labels[4]), photo.text[:200]
    letter = post(port, "/predict", draw("A", background="white"))
    assert letter.status_code == 422 and letter.json()["reason"] == "not_a_digit"
    page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
    assert page.status_code == 200 and "digitserve" in page.text
    user = sh("docker", "exec", name, "id", "-u").stdout.strip()
    assert user == "10001"
    assert sh("docker", "exec", name, "touch", "/srv/x", check=False).returncode != 0, "root FS is read-only"
    print(f"healthy after {wait_healthy(name):.0f}s more")


def test_docker_stop_answers_the_requests_in_flight_and_exits_0(container, mnist_fixture):
    name, port = container
    wait_ready(port, name)
    images, _ = mnist_fixture
    big = draw("7", height=1500, pen=90, margin=600, background="white")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(post, port, "/predict", big) for _ in range(8)]
        time.sleep(0.3)
        sh("docker", "stop", "-t", "20", name)
        codes = [f.result().status_code for f in futures]
    assert codes == [200] * 8
    assert state(name)["ExitCode"] == 0


def test_the_image_asked_for_cuda_without_a_gpu_exits_non_zero_within_30s(image):
    started = time.monotonic()
    result = sh("docker", "run", "--rm", "--network", "host", "-e", "DEVICE=cuda", "-e", f"PORT={free_port()}",
                "-e", "HOST=127.0.0.1", image, check=False, timeout=60)
    assert result.returncode != 0 and time.monotonic() - started < 30
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and "DEVICE=cuda" in errors[0] and "Traceback" not in result.stderr


@pytest.mark.skipif(not shutil.which("docker-compose") or FLAVOUR != "cpu",
                    reason="docker-compose is not installed, or not the cpu flavour (its profile's image)")
def test_the_compose_cpu_profile_comes_up_healthy_and_goes_down(image):
    port = free_port()
    compose = ["docker-compose", "-p", f"digitserve-test-{port}", "--profile", "cpu"]
    env = {**os.environ, "HOST_PORT": f"127.0.0.1:{port}"}  # published on loopback only
    try:
        sh(*compose, "up", "-d", "--no-build", "digitserve-cpu", env=env)
        name = sh(*compose, "ps", "-q", "digitserve-cpu", env=env).stdout.strip()
        wait_ready(port, name)
        print(f"compose service healthy after {wait_healthy(name):.0f}s")
    finally:
        sh(*compose, "down", "-t", "10", env=env, check=False)
    assert not sh(*compose, "ps", "-q", env=env, check=False).stdout.strip()
