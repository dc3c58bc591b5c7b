"""Where the models run: the ONNX export on CPU without torch, torch on request (and on CUDA)."""

import subprocess
import sys

import numpy as np
import pytest

from app.services.runtimes import resolve_device
from tests.app.conftest import ROOT, make_client
from tests.images import png

NO_TORCH = """
import sys
from fastapi.testclient import TestClient
from app.core.config import Settings
from app.main import create_app
with TestClient(create_app(Settings(device="cpu"))) as client:
    assert client.get("/ready").status_code == 200
    assert client.post("/predict", files={"file": ("x.png", sys.stdin.buffer.read(), "image/png")}).status_code == 200
print("torch imported:", "torch" in sys.modules)
"""


def test_a_cpu_worker_serves_without_ever_importing_torch(mnist_fixture):
    images, _ = mnist_fixture
    out = subprocess.run([sys.executable, "-c", NO_TORCH], input=png(images[0]), capture_output=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    assert out.stdout.decode().strip() == "torch imported: False"


def test_torch_runtime_on_request_gives_the_same_answers(client, mnist_fixture):
    images, _ = mnist_fixture
    with make_client(inference_runtime="torch") as torch_client:
        assert {m.runtime.name for m in torch_client.app.state.store.models.values()} == {"torch"}
        for img in images[:20]:
            upload = {"file": ("d.png", png(img), "image/png")}
            for route, data in (("/predict", None), ("/predict/overlap", None), ("/predict/sum", {"number": "4"})):
                a = client.post(route, files=upload, data=data).json()
                b = torch_client.post(route, files=upload, data=data).json()
                assert a.get("digit") == b.get("digit") and a.get("digits") == b.get("digits")
                assert a.get("sum") == b.get("sum")
                if "probabilities" in a:
                    assert np.abs(np.array(a["probabilities"]) - np.array(b["probabilities"])).max() < 1e-4
                else:
                    assert abs(a["confidence"] - b["confidence"]) < 1e-4


def test_device_resolution():
    assert resolve_device("cpu", "auto") == "cpu"
    assert resolve_device("auto", "onnx") == "cpu"
    with pytest.raises(RuntimeError, match="runs on CPU"):
        resolve_device("cuda", "onnx")
