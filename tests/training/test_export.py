"""ONNX exports: the same numbers as torch, recorded in the card, never paired with another checkpoint."""

import json

import numpy as np
import pytest
import torch

from app.ml.cards import CheckpointError
from app.ml.checkpoint import load_model, make_checkpoint, save_checkpoint
from app.ml.nets import HEADS, build_model
from app.ml.scorer import Scorer
from app.services.runtimes import open_model
from tests.utils import checkpoint_meta
from training.export import export

TINY = {"channels": [4, 6, 8]}


def tiny_checkpoint(tmp_path, task: str, seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(task, "cnn", **TINY).eval()
    path = tmp_path / f"{task}.pt"
    save_checkpoint(make_checkpoint(model, **checkpoint_meta(task=task, arch_kwargs=TINY, head=HEADS[(task, "cnn")],
                                                  threshold=0.4)), path)
    return path


@pytest.mark.parametrize("task", ["digit", "overlap", "sum"])
def test_export_matches_torch_and_is_recorded_in_the_card(tmp_path, mnist_fixture, task):
    path = tiny_checkpoint(tmp_path, task)
    card = export(path)
    entry = card["onnx"]
    assert entry["file"] == f"{task}.onnx" and (tmp_path / entry["file"]).stat().st_size == entry["bytes"]
    assert entry["source_sha256"] == card["sha256"] and entry["max_abs_diff"] <= 1e-4

    runtime, served_card = open_model(path, "cpu", "auto", threads=1)
    assert runtime.name == "onnxruntime" and served_card["onnx"] == entry
    images = (mnist_fixture[0][:37] / 255.0).astype(np.float32)
    numbers = np.arange(37, dtype=np.int64) % 10 if task == "sum" else None
    with torch.no_grad():
        scorer = Scorer(*load_model(path)).eval()
        expected = scorer(*[torch.from_numpy(a) for a in (images, numbers) if a is not None])
    got = runtime(images, numbers)
    assert len(got) == len(expected) == (2 if task == "sum" else 1)
    for g, e in zip(got, expected):
        assert g.shape == tuple(e.shape) and np.abs(g - e.numpy()).max() < 1e-5


def test_a_retrained_checkpoint_is_never_served_with_the_old_export(tmp_path, caplog):
    path = tiny_checkpoint(tmp_path, "digit", seed=0)
    export(path)
    tiny_checkpoint(tmp_path, "digit", seed=1)  # new weights, new card without an export; old .onnx remains
    runtime, _ = open_model(path, "cpu", "auto", threads=1)
    assert runtime.name == "torch"
    assert any("make onnx" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    with pytest.raises(CheckpointError, match="no ONNX export"):
        open_model(path, "cpu", "onnx", threads=1)


def test_a_card_pointing_at_another_checkpoints_export_is_refused(tmp_path):
    path = tiny_checkpoint(tmp_path, "digit")
    card = export(path)
    card["onnx"]["source_sha256"] = "0" * 64
    (tmp_path / "digit.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="another checkpoint"):
        open_model(path, "cpu", "onnx", threads=1)
