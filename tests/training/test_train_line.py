"""The line model's training: rendered lines through the service's own preprocessing, and a smoke run
that writes a checkpoint and an ONNX export the service can load."""

import numpy as np

from app.ml.checkpoint import load_model
from app.ml.lines import LINE_HEIGHT
from tests.utils import help_text
from training import line_data, train_line


def test_rendered_training_lines_are_strips_of_their_digits_and_reproducible(mnist_fixture):
    images, labels = mnist_fixture
    a = [line_data.sample(images, labels, np.random.default_rng(3)) for _ in range(1)]
    b = [line_data.sample(images, labels, np.random.default_rng(3)) for _ in range(1)]
    assert a[0][1] == b[0][1] and np.array_equal(a[0][0], b[0][0])
    rng = np.random.default_rng(4)
    samples = [line_data.sample(images, labels, rng) for _ in range(12)]
    for strip, text in samples:
        assert strip.dtype == np.uint8 and strip.shape[0] == LINE_HEIGHT and strip.max() > 128
        assert text.isdigit() and 1 <= len(text) <= 20
        # wider lines hold more digits: at least ~7 columns per digit, at most a strip's width
        assert strip.shape[1] >= 7 * len(text)
    assert len({len(t) for _, t in samples}) >= 4


def test_packed_lines_unpack_to_the_same_strips():
    samples = [(np.full((LINE_HEIGHT, w), w, np.uint8), str(w)) for w in (17, 40, 23)]
    back = line_data.unpack(line_data.pack(samples))
    assert [t for _, t in back] == ["17", "40", "23"]
    assert all(np.array_equal(x, y) for (x, _), (y, _) in zip(samples, back))


def test_a_smoke_run_writes_a_checkpoint_and_export_the_service_loads(tmp_path, mnist_data_dir):
    card = train_line.main(["--dry-run", "--data-dir", str(mnist_data_dir), "--out-dir", str(tmp_path),
                            "--threads", "2", "--workers", "1"])
    assert card["task"] == "line" and card["arch"] == "crnn" and card["head"] == "ctc"
    assert card["onnx"]["source_sha256"] == card["sha256"]
    assert card["data"]["train_lines"] == 64 and card["history"][0]["train_loss"] > 0
    model, _ = load_model(tmp_path / "line.pt")
    assert sum(p.numel() for p in model.parameters()) > 100_000
    from app.services.runtimes import OnnxRuntime

    (log_probs,) = OnnxRuntime(tmp_path / "line.onnx", "line", 1)(np.zeros((1, LINE_HEIGHT, 100), np.float32))
    assert log_probs.shape == (1, 25, 11) and np.allclose(np.exp(log_probs).sum(-1), 1, atol=1e-4)


def test_help_shows_defaults(capsys):
    out = help_text(train_line.parse_args, capsys)
    assert "(default: 8)" in out and "--dry-run" in out and "--init-from" in out


def test_cached_lines_are_never_reused_for_other_digits(tmp_path, mnist_fixture):
    images, labels = mnist_fixture
    first = line_data.lines(images[:100], labels[:100], 4, 1, tmp_path, "val", workers=1)
    again = line_data.lines(images[:100], labels[:100], 4, 1, tmp_path, "val", workers=1)
    other = line_data.lines(images[100:200], labels[100:200], 4, 1, tmp_path, "val", workers=1)
    assert [t for _, t in first] == [t for _, t in again] and len(list(tmp_path.glob("lines-*.npz"))) == 2
    assert [s.tobytes() for s, _ in other] != [s.tobytes() for s, _ in first]
