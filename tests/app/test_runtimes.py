"""Where the models run: the ONNX export on CPU without torch, torch on request (and on CUDA)."""

import subprocess
import sys

import numpy as np
import pytest

from app.services.runtimes import resolve_device
from support.images import png
from tests.utils import ROOT, make_client

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


def test_torch_runtime_on_request_gives_the_same_answers_as_the_32_bit_exports(mnist_fixture):
    images, _ = mnist_fixture
    with make_client(inference_runtime="torch") as torch_client, make_client(onnx_precision="fp32") as client:
        assert {m.runtime.name for m in torch_client.app.state.store.models.values()} == {"torch"}
        assert {m.runtime.precision for m in client.app.state.store.models.values()} == {"fp32"}
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


def test_the_default_8_bit_digit_model_and_gate_answer_as_the_32_bit_ones(client, mnist_fixture):
    served = {name: m.runtime.precision for name, m in client.app.state.store.models.items()}
    assert served == {"digit": "int8", "gate": "int8", "overlap": "fp32", "sum": "fp32", "line": "fp32"}
    images, _ = mnist_fixture
    with make_client(onnx_precision="fp32") as fp32_client:
        pairs = [(client.post("/predict", files={"file": ("d.png", png(img), "image/png")}).json(),
                  fp32_client.post("/predict", files={"file": ("d.png", png(img), "image/png")}).json())
                 for img in images[:100]]
    assert np.mean([a.get("digit") == b.get("digit") for a, b in pairs]) >= 0.99
    assert max(abs(a["confidence"] - b["confidence"]) for a, b in pairs if "confidence" in a and "confidence" in b) < 0.05


def test_device_resolution():
    assert resolve_device("cpu", "auto") == "cpu"
    assert resolve_device("auto", "onnx") == "cpu"
    with pytest.raises(RuntimeError, match="runs on CPU"):
        resolve_device("cuda", "onnx")


WITHOUT_TORCH = """
import sys


class NoTorch:
    '''As if torch were not installed (the CPU image): any import of it fails.'''

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError("No module named 'torch'")


sys.meta_path.insert(0, NoTorch())
from fastapi.testclient import TestClient
from app.core.config import Settings
from app.main import create_app

with TestClient(create_app(Settings(device="auto", model_dir=sys.argv[1]))) as client:
    image = open(sys.argv[2], "rb").read()
    print(client.post("/predict", files={"file": ("x.png", image, "image/png")}).status_code)
    print(client.post("/predict/sum", files={"file": ("x.png", image, "image/png")}, data={"number": "1"}).status_code)
    print(client.get("/ready").json()["models"]["sum"])
"""


def test_without_torch_installed_the_exports_serve_and_a_missing_export_is_named(tmp_path, mnist_fixture):
    from tests.utils import copy_models

    copy_models(tmp_path)
    (tmp_path / "sum.onnx").unlink()
    image = tmp_path / "x.png"
    image.write_bytes(png(mnist_fixture[0][0]))
    out = subprocess.run([sys.executable, "-c", WITHOUT_TORCH, str(tmp_path), str(image)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    digit_status, sum_status, sum_state = out.stdout.strip().splitlines()
    assert digit_status == "200" and sum_status == "503"
    assert "ONNX export not found" in sum_state and "torch is not installed" in sum_state
