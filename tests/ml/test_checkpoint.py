import json
import os
import stat
from pathlib import Path

import pytest
import torch

from app.ml.checkpoint import CheckpointError, load_model, make_checkpoint, read_checkpoint, save_checkpoint
from app.ml.nets import build_model
from tests.utils import checkpoint_meta


def test_round_trip_with_weights_only_restores_identical_outputs(tmp_path):
    model = build_model("digit", "cnn").eval()
    card = save_checkpoint(make_checkpoint(model, **checkpoint_meta()), tmp_path / "digit.pt")
    loaded, loaded_card = load_model(tmp_path / "digit.pt")
    x = torch.randn(2, 1, 28, 28)
    assert torch.equal(model(x), loaded(x))
    assert loaded_card["sha256"] == card["sha256"] == json.loads((tmp_path / "digit.json").read_text())["sha256"]
    for key in ("task", "arch", "arch_kwargs", "normalization", "classes", "temperature", "metrics",
                "torch_version", "train_config", "data"):
        assert key in loaded_card
    # the file really is loadable by plain torch.load(weights_only=True)
    assert torch.load(tmp_path / "digit.pt", weights_only=True)["task"] == "digit"
    assert not list(tmp_path.glob("*.tmp")), "atomic write left a temp file"


def test_missing_metadata_is_refused():
    with pytest.raises(ValueError, match="lacks"):
        make_checkpoint(build_model("digit", "mlp"), task="digit")


class Payload:
    """Unpickling this would create a marker file: proof that code ran."""

    marker: Path

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_checkpoint_with_pickled_code_is_refused_and_the_payload_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    payload = Payload()
    payload.marker = marker
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "task": "digit", "evil": payload}, path)
    with pytest.raises(CheckpointError, match="cannot be loaded safely"):
        read_checkpoint(path, verify_card=False)
    assert not marker.exists()
    # the payload is real: an unsafe load of the same file does run it
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_tampered_checkpoint_is_refused_by_its_card(tmp_path):
    save_checkpoint(make_checkpoint(build_model("digit", "mlp"), **checkpoint_meta(arch="mlp")), tmp_path / "m.pt")
    raw = bytearray((tmp_path / "m.pt").read_bytes())
    raw[-100] ^= 0xFF
    (tmp_path / "m.pt").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="sha256"):
        read_checkpoint(tmp_path / "m.pt")


def test_missing_and_truncated_checkpoints_name_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "nope.pt")
    save_checkpoint(make_checkpoint(build_model("digit", "mlp"), **checkpoint_meta(arch="mlp")), tmp_path / "t.pt")
    (tmp_path / "t.pt").write_bytes((tmp_path / "t.pt").read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="t.pt"):
        read_checkpoint(tmp_path / "t.pt", verify_card=False)


def test_written_checkpoints_and_cards_are_readable_by_other_users(tmp_path):
    """A container's user reads models/ mounted from the host (docker compose): not private files."""
    umask = os.umask(0o022)
    try:
        save_checkpoint(make_checkpoint(build_model("digit", "mlp"), **checkpoint_meta(arch="mlp")), tmp_path / "m.pt")
    finally:
        os.umask(umask)
    for name in ("m.pt", "m.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644
