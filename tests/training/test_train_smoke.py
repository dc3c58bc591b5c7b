import json
import shutil
from pathlib import Path

import pytest

from app.ml.checkpoint import load_model
from tests.utils import help_text
from training import evaluate, train


def run(tmp_path, data_dir, *extra):
    args = train.parse_args(["--data-dir", str(data_dir), "--out-dir", str(tmp_path), "--threads", "2",
                             "--val-size", "500", *extra])
    card = train.train(args)
    return card, load_model(tmp_path / card["file"])[0]


def test_tiny_digit_run_lowers_the_loss_and_writes_a_loadable_checkpoint(tmp_path, mnist_data_dir):
    card, model = run(tmp_path, mnist_data_dir, "--task", "digit", "--limit", "2000", "--epochs", "3", "--batch-size", "64")
    history = card["history"]
    assert len(history) == 3
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert history[-1]["val_loss"] < 2.30, "better than chance (ln 10 = 2.30)"
    assert card["metrics"]["validation"]["accuracy"] > 0.5
    assert card["data"]["source"] and card["temperature"] > 0
    assert card["train_config"]["seed"] == 0 and card["torch_version"]
    assert card["onnx"]["source_sha256"] == card["sha256"], "exported for the CPU service"


def test_training_is_reproducible_for_a_seed(tmp_path, mnist_data_dir):
    a, _ = run(tmp_path / "a", mnist_data_dir, "--task", "digit", "--dry-run")
    b, _ = run(tmp_path / "b", mnist_data_dir, "--task", "digit", "--dry-run")
    assert a["history"][0]["train_loss"] == b["history"][0]["train_loss"]


@pytest.mark.parametrize("task,arch", [("overlap", "cnn"), ("overlap", "mlp"), ("sum", "cnn"), ("sum", "mlp"), ("gate", "cnn")])
def test_dry_run_of_every_task_and_the_evaluate_report(tmp_path, mnist_data_dir, task, arch):
    card, _ = run(tmp_path, mnist_data_dir, "--task", task, "--arch", arch, "--dry-run")
    assert card["task"] == task and card["arch"] == arch
    evaluate.main([str(tmp_path / card["file"]), "--reports", str(tmp_path / "reports"), "--limit", "300",
                   "--data-dir", str(mnist_data_dir)])
    report = tmp_path / "reports" / card["file"].removesuffix(".pt")
    for figure in ("curves.png", "per_class.png", "reliability.png", "samples.png"):
        assert (report / figure).stat().st_size > 1000
    metrics = json.loads((report / "metrics.json").read_text())["test"]
    assert 0 <= metrics["ece"] <= 1
    if task == "sum":  # both right is never likelier than either; the CNN's sum head adds the number to its digit
        assert metrics["joint_accuracy"] <= min(metrics["sum_accuracy"], metrics["digit_accuracy"])
        assert metrics["sum_accuracy"] == metrics["joint_accuracy"] or arch == "mlp"
    if task == "overlap":
        assert 0 <= metrics["exact_set_accuracy"] <= metrics["hamming_accuracy"] <= 1
    if task == "gate":
        assert 0 < card["threshold"] < 1 and card["classes"][-2:] == ["not_a_digit", "several_digits"]
        assert {"false_rejection", "rejection", "rejection_several_digits"} <= set(metrics)


def test_a_second_gate_round_starts_from_the_first_and_trains_on_more_uploads(tmp_path, mnist_data_dir):
    first, _ = run(tmp_path / "first", mnist_data_dir, "--task", "gate", "--dry-run", "--no-export")
    second, _ = run(tmp_path / "second", mnist_data_dir, "--task", "gate", "--dry-run", "--no-export", "--more-negatives",
                    "--init-from", str(tmp_path / "first" / first["file"]))
    assert second["train_config"]["more_negatives"] and second["train_config"]["init_from"].endswith("gate.pt")
    assert second["metrics"]["validation"]["n"] > first["metrics"]["validation"]["n"], "signs and digits added"
    assert 0 < second["threshold"] < 1


def test_help_shows_defaults(capsys):
    out = help_text(train.parse_args, capsys)
    assert "(default: 15)" in out and "--dry-run" in out and "--device" in out


def test_the_evaluation_report_scores_the_line_model_by_its_number_readers_card(tmp_path, mnist_data_dir):
    assert any(p.stem == "line" for p in evaluate.DEFAULT_MODELS)
    models = Path(__file__).resolve().parents[2] / "models"
    evaluate.main([str(models / "line.pt"), "--reports", str(tmp_path), "--data-dir", str(mnist_data_dir)])
    row = json.loads((tmp_path / "summary.json").read_text())["line"]
    reader = json.loads((models / "number.json").read_text())["test"]
    assert row["task"] == "number" and row["params"] > 100_000
    assert row["test"]["exact_string_accuracy"] == reader["exact_string_accuracy"]
    table = (tmp_path / "RESULTS.md").read_text()
    assert f"exact string {100 * reader['exact_string_accuracy']:.2f}%" in table


def test_the_line_model_without_its_number_readers_card_is_not_scored(tmp_path, mnist_data_dir):
    shutil.copy(Path(__file__).resolve().parents[2] / "models" / "line.pt", tmp_path / "line.pt")
    shutil.copy(Path(__file__).resolve().parents[2] / "models" / "line.json", tmp_path / "line.json")
    with pytest.raises(SystemExit, match="number_card"):
        evaluate.main([str(tmp_path / "line.pt"), "--reports", str(tmp_path / "reports"), "--data-dir", str(mnist_data_dir)])
