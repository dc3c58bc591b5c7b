"""`make bench-gpu`'s script runs every section end to end (here on CPU, in its quick mode) and
writes a JSON report; on a machine with CUDA the same test runs it on the GPU."""

import json
import subprocess
import sys

import pytest

from tests.utils import ROOT


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not cuda_available(), reason="needs a CUDA GPU"))])
def test_the_gpu_benchmark_writes_every_section(tmp_path, device):
    out = tmp_path / "gpu.json"
    run = subprocess.run([sys.executable, "-m", "bench.gpu", "--quick", "--device", device, "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["environment"]["device"] == device and report["environment"]["torch"]
    assert not any("error" in report[s] for s in ("api", "model", "http", "training")), \
        {s: report[s].get("error") for s in ("api", "model", "http", "training")}
    for route in ("digit", "overlap", "sum"):
        assert report["api"][route]["identical_to_cpu"] >= 0.99 and report["api"][route]["accuracy"] > 0.9
    assert {r["variant"] for r in report["model"]["rows"]} >= {"fp32", "bf16", "channels_last"}
    assert all(r["images_per_s"] > 0 for r in report["model"]["rows"])
    uploads = {(r["device"], r["upload"]) for r in report["http"]["rows"]}
    assert (device, "12 MP phone JPEG") in uploads and all(r["errors"] == 0 for r in report["http"]["rows"])
    assert all(t["exit"] == 0 for t in report["training"].values() if isinstance(t, dict)), report["training"]
