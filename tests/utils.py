"""Builders the tests share (the full-stack template's tests/utils/): an in-process client on the
shipped models or a copy of them, and a checkpoint card's metadata. Test modules import from here,
never from each other or from a conftest; conftest files hold fixtures only."""

import os
import shutil
from pathlib import Path

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from app.ml.constants import MODELS

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = Path(os.environ.get("DIGITSERVE_TEST_MODEL_DIR", ROOT / "models"))


def model_inputs(images_01):
    """Images in [0, 1] (n, 28, 28) as a checkpoint's input batch: normalized, one channel (imports torch)."""
    import torch

    from app.ml.constants import normalize

    return normalize(torch.from_numpy(images_01).float().unsqueeze(1))


def make_client(**overrides) -> TestClient:
    """An in-process client of the app on MODEL_DIR (or `model_dir=`), CPU, any other setting overridden."""
    settings = Settings(model_dir=overrides.pop("model_dir", MODEL_DIR), device="cpu", **overrides)
    return TestClient(create_app(settings), raise_server_exceptions=False)


def copy_models(to: Path) -> None:
    """The shipped checkpoints, cards, exports (32- and 8-bit, with the 8-bit ones' start checks), the
    number reader's and the digit ensemble's cards, copied into `to`."""
    for name in MODELS:
        for ext in (".pt", ".json", ".onnx", ".int8.onnx", ".int8-check.npz"):
            if (MODEL_DIR / f"{name}{ext}").exists():
                shutil.copy(MODEL_DIR / f"{name}{ext}", to / f"{name}{ext}")
    for card in ("number.json", "ensemble.json"):
        shutil.copy(MODEL_DIR / card, to / card)


def rewrite_start_check(model_dir: Path, name: str, change) -> None:
    """Replace the 8-bit start check of model `name` in `model_dir` by `change(images, outputs)`'s
    arrays, its card updated to the new file's sha256 (as a CPU that computes otherwise would see it)."""
    import json

    import numpy as np

    from app.ml.cards import sha256_file

    card_path = Path(model_dir) / f"{name}.json"
    card = json.loads(card_path.read_text())
    check = Path(model_dir) / card["onnx_int8"]["start_check"]["file"]
    with np.load(check) as arrays:
        images, outputs = change(arrays["images"], arrays["outputs"])
    np.savez_compressed(check, images=images, outputs=outputs)
    card["onnx_int8"]["start_check"]["sha256"] = sha256_file(check)
    card_path.write_text(json.dumps(card))


def help_text(parse_args, capsys) -> str:
    """What a command's `--help` prints (argparse exits after printing it)."""
    import pytest

    with pytest.raises(SystemExit):
        parse_args(["--help"])
    return capsys.readouterr().out


def fixture_photos(mnist_fixture, photo, n: int) -> list[tuple[bytes, int]]:
    """(photo(digit, i), label) for the fixture's first `n` digits: samples for `tests.realistic.accuracy`."""
    images, labels = mnist_fixture
    return [(photo(images[i], i), int(labels[i])) for i in range(n)]


def checkpoint_meta(**over) -> dict:
    """Everything make_checkpoint needs besides the model, for a digit CNN; `over` replaces entries."""
    base = dict(task="digit", arch="cnn", arch_kwargs={}, head="softmax", normalization={"mean": 0.1, "std": 0.3},
                classes=list(range(10)), temperature=1.5, metrics={"test": {"accuracy": 0.5}},
                train_config={"seed": 0}, data={"source": "unit-test"})
    return {**base, **over}
