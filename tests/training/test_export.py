"""ONNX exports: the same numbers as torch (the 8-bit one: the same answers), recorded in the card, never
paired with another checkpoint."""

import json

import numpy as np
import pytest
import torch

from app.ml.cards import CheckpointError, sha256_file
from app.ml.checkpoint import load_model, make_checkpoint, save_checkpoint
from app.ml.constants import INT8_TASKS
from app.ml.nets import HEADS, build_model
from app.ml.scorer import Scorer
from app.services.runtimes import INT8_START_MAX_DIFF, open_model
from tests.utils import checkpoint_meta, copy_models, rewrite_start_check
from training.export import MIN_INT8_AGREEMENT, QuantizationImages, add_start_check, export

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


@pytest.fixture()
def shipped_digit(tmp_path):
    """The shipped digit checkpoint and card in a folder of its own, before any 8-bit export."""
    copy_models(tmp_path)
    card = json.loads((tmp_path / "digit.json").read_text())
    card.pop("onnx_int8", None)
    (tmp_path / "digit.json").write_text(json.dumps(card))
    (tmp_path / "digit.int8.onnx").unlink(missing_ok=True)
    return tmp_path / "digit.pt"


def fixture_images(mnist_fixture) -> QuantizationImages:
    x = (mnist_fixture[0] / 255.0).astype(np.float32)
    return QuantizationImages(calibration=x[:150], check=x[150:], source="the test fixture")


def test_the_8_bit_export_keeps_the_answers_and_is_served_unless_fp32_is_asked_for(shipped_digit, mnist_fixture):
    card = export(shipped_digit, fixture_images(mnist_fixture))
    entry = card["onnx_int8"]
    assert entry["file"] == "digit.int8.onnx" and entry["source_sha256"] == card["sha256"]
    assert entry["agreement"] >= MIN_INT8_AGREEMENT and entry["check_images"] == 150
    assert (shipped_digit.parent / entry["file"]).stat().st_size < card["onnx"]["bytes"] / 2
    assert entry["start_check"]["images"] == 128 and (shipped_digit.parent / entry["start_check"]["file"]).is_file()

    int8, _ = open_model(shipped_digit, "cpu", "auto", threads=1, precision="int8")
    fp32, _ = open_model(shipped_digit, "cpu", "auto", threads=1, precision="fp32")
    assert (int8.precision, fp32.precision) == ("int8", "fp32")
    images, labels = mnist_fixture
    p8, p32 = int8(images / np.float32(255))[0], fp32(images / np.float32(255))[0]
    assert not np.array_equal(p8, p32), "a different graph really runs"
    assert (p8.argmax(1) == p32.argmax(1)).mean() >= 0.99 and np.abs(p8 - p32).max() < 0.2
    assert (p8.argmax(1) == labels).mean() >= (p32.argmax(1) == labels).mean() - 0.01


def test_an_8_bit_export_that_changes_answers_is_not_recorded(shipped_digit, mnist_fixture, monkeypatch, caplog):
    monkeypatch.setattr("training.export.MIN_INT8_AGREEMENT", 1.01)  # no export can keep more than all answers
    card = export(shipped_digit, fixture_images(mnist_fixture))
    assert "onnx_int8" not in card and not (shipped_digit.parent / "digit.int8.onnx").exists()
    assert any("not recorded" in r.getMessage() for r in caplog.records)
    runtime, _ = open_model(shipped_digit, "cpu", "auto", threads=1)
    assert runtime.precision == "fp32"


def test_a_tampered_8_bit_export_is_skipped_for_the_32_bit_one(shipped_digit, mnist_fixture, caplog):
    card = export(shipped_digit, fixture_images(mnist_fixture))
    int8_file = shipped_digit.parent / card["onnx_int8"]["file"]
    int8_file.write_bytes(int8_file.read_bytes()[:-10] + b"0123456789")
    runtime, _ = open_model(shipped_digit, "cpu", "onnx", threads=1)
    assert runtime.name == "onnxruntime" and runtime.precision == "fp32"
    assert any("int8 entry" in r.getMessage() and "32-bit export instead" in r.getMessage() for r in caplog.records)


def test_re_exporting_without_images_drops_the_old_8_bit_entry(shipped_digit, mnist_fixture):
    assert "onnx_int8" in export(shipped_digit, fixture_images(mnist_fixture))
    assert "onnx_int8" not in export(shipped_digit)


def test_only_the_models_named_in_int8_tasks_get_an_8_bit_export(tmp_path, mnist_fixture):
    assert "overlap" not in INT8_TASKS
    card = export(tiny_checkpoint(tmp_path, "overlap"), fixture_images(mnist_fixture))
    assert "onnx_int8" not in card and not (tmp_path / "overlap.int8.onnx").exists()


def test_an_8_bit_export_whose_start_check_this_cpu_does_not_reproduce_is_served_in_32_bits(
        shipped_digit, mnist_fixture, caplog):
    """As a CPU whose integer kernels overflow would compute: the recorded outputs no longer match."""
    export(shipped_digit, fixture_images(mnist_fixture))
    rewrite_start_check(shipped_digit.parent, "digit", lambda images, outputs: (images, np.roll(outputs, 1, axis=1)))
    runtime, _ = open_model(shipped_digit, "cpu", "onnx", threads=1)
    assert runtime.precision == "fp32"
    assert any("other answers on this CPU" in r.getMessage() and "32-bit export instead" in r.getMessage()
               for r in caplog.records)


def test_outputs_off_by_more_than_the_limit_fail_the_start_check_although_every_top_class_holds(
        shipped_digit, mnist_fixture):
    export(shipped_digit, fixture_images(mnist_fixture))

    def nudge(images, outputs):
        outputs = outputs.copy()
        outputs[0, outputs[0].argmin()] += 2 * INT8_START_MAX_DIFF  # the top class stays
        return images, outputs
    rewrite_start_check(shipped_digit.parent, "digit", nudge)
    runtime, _ = open_model(shipped_digit, "cpu", "onnx", threads=1)
    assert runtime.precision == "fp32"


def test_a_start_check_with_outputs_of_another_shape_is_refused_not_crashed_on(shipped_digit, mnist_fixture, caplog):
    export(shipped_digit, fixture_images(mnist_fixture))
    rewrite_start_check(shipped_digit.parent, "digit", lambda images, outputs: (images, outputs[:, :5]))
    runtime, _ = open_model(shipped_digit, "cpu", "onnx", threads=1)
    assert runtime.precision == "fp32"
    assert any("of shape" in r.getMessage() for r in caplog.records)


def test_a_start_check_file_that_differs_from_its_card_is_not_trusted(shipped_digit, mnist_fixture, caplog):
    card = export(shipped_digit, fixture_images(mnist_fixture))
    check = shipped_digit.parent / card["onnx_int8"]["start_check"]["file"]
    check.write_bytes(check.read_bytes()[:-1] + b"x")
    runtime, _ = open_model(shipped_digit, "cpu", "onnx", threads=1)
    assert runtime.precision == "fp32"
    assert any("start_check entry" in r.getMessage() for r in caplog.records)


def test_an_8_bit_export_from_before_start_checks_is_served_with_a_warning(shipped_digit, mnist_fixture, caplog):
    card = export(shipped_digit, fixture_images(mnist_fixture))
    del card["onnx_int8"]["start_check"]
    (shipped_digit.parent / "digit.json").write_text(json.dumps(card))
    runtime, _ = open_model(shipped_digit, "cpu", "onnx", threads=1)
    assert runtime.precision == "int8"
    assert any("no start check" in r.getMessage() for r in caplog.records)


def test_start_checks_only_adds_a_check_and_leaves_the_8_bit_export_as_it_was(shipped_digit, mnist_fixture):
    card = export(shipped_digit, fixture_images(mnist_fixture))
    int8_sha = card["onnx_int8"]["sha256"]
    del card["onnx_int8"]["start_check"]
    (shipped_digit.parent / "digit.json").write_text(json.dumps(card))
    (shipped_digit.parent / "digit.int8-check.npz").unlink()
    card = add_start_check(shipped_digit, fixture_images(mnist_fixture))
    assert card["onnx_int8"]["sha256"] == int8_sha == sha256_file(shipped_digit.parent / "digit.int8.onnx")
    assert card["onnx_int8"]["start_check"]["images"] == 128
    assert open_model(shipped_digit, "cpu", "onnx", threads=1)[0].precision == "int8"
