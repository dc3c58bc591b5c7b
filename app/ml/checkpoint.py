"""The checkpoint schema: one self-describing file per model, loadable with weights_only=True.

A checkpoint is a plain dict of JSON-like metadata plus `state_dict`. Beside each `<name>.pt` lies
`<name>.json`, the model card (see `app.ml.cards`): the same metadata plus the checkpoint's sha256 and size.
"""

import datetime as dt
import json
from pathlib import Path

import torch
from torch import nn

from app.ml.cards import CheckpointError, atomic_write, read_card, sha256_file, write_card
from app.ml.nets import HEADS, build_model

SCHEMA_VERSION = 1
REQUIRED_KEYS = ("schema_version", "task", "arch", "arch_kwargs", "head", "normalization", "classes",
                 "temperature", "metrics", "torch_version", "train_config", "data", "state_dict")
__all__ = ["CheckpointError", "atomic_write", "card_of", "load_model", "make_checkpoint", "read_checkpoint",
           "save_checkpoint"]


def make_checkpoint(model: nn.Module, **metadata) -> dict:
    """Assemble a checkpoint dict: metadata, torch version, timestamp and CPU weights."""
    meta = {"schema_version": SCHEMA_VERSION, "torch_version": str(torch.__version__),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), **metadata}
    # A JSON round trip leaves only plain types, which weights_only=True loads and the card can hold.
    ckpt = {**json.loads(json.dumps(meta)),
            "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        raise ValueError(f"checkpoint metadata lacks {missing}")
    return ckpt


def card_of(ckpt: dict) -> dict:
    return {k: v for k, v in ckpt.items() if k != "state_dict"}


def save_checkpoint(ckpt: dict, path: Path) -> dict:
    """Write `path` (.pt) and its model card (.json) atomically; return the card."""
    path = Path(path)
    atomic_write(path, lambda f: torch.save(ckpt, f))
    card = {**card_of(ckpt), "file": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size}
    write_card(path, card)
    return card


def read_checkpoint(path: Path, verify_card: bool = True) -> tuple[dict, dict]:
    """Load a checkpoint safely (weights_only=True) and check it against its model card.

    Returns (checkpoint, card). Raises CheckpointError naming the problem.
    """
    path = Path(path)
    card = read_card(path) if verify_card else None  # read_card reports a missing file itself
    if card is None and not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt/unsafe files
        raise CheckpointError(f"{path}: cannot be loaded safely ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:200]})") from exc
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in REQUIRED_KEYS):
        raise CheckpointError(f"{path}: not a digitserve checkpoint (missing keys)")
    if (ckpt["task"], ckpt["arch"]) not in HEADS:
        raise CheckpointError(f"{path}: unknown task/arch {ckpt['task']}/{ckpt['arch']}")
    return ckpt, card if card is not None else card_of(ckpt)


def load_model(path: Path, device: str = "cpu", verify_card: bool = True) -> tuple[nn.Module, dict]:
    """Build the network a checkpoint describes and load its weights, in eval mode."""
    ckpt, card = read_checkpoint(path, verify_card=verify_card)
    model = build_model(ckpt["task"], ckpt["arch"], **ckpt["arch_kwargs"])
    model.load_state_dict(ckpt["state_dict"])
    return model.to(device).eval(), card
