"""Model cards and the files they vouch for, without torch.

Beside each checkpoint `<name>.pt` lies its card `<name>.json`: the checkpoint's metadata plus its
sha256, and, once exported, the ONNX graph `<name>.onnx` with that file's sha256. Serving on CPU reads
only cards and ONNX files, so this module must not import torch (it costs ~0.5 GB and seconds).
"""

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("digitserve.cards")
DEFAULT_THRESHOLD = 0.5  # a model whose card records no decision threshold (overlap's, the gate's) uses this


class CheckpointError(Exception):
    """A checkpoint, card or export that is missing, unreadable, unsafe or does not match its card."""


@dataclass(frozen=True)
class Card:
    """A model card read once into what its readers use, with its defaults: the card is a dict in the
    JSON file and the checkpoint (`data` keeps it whole, e.g. for /models), a `Card` everywhere else."""

    task: str
    arch: str
    head: str
    mean: float
    std: float
    temperature: float
    threshold: float
    sha256: str
    data: dict

    @classmethod
    def of(cls, card: "dict | Card") -> "Card":
        """The typed card; CheckpointError when a key every card has is missing or malformed."""
        if isinstance(card, Card):
            return card
        try:
            return cls(task=str(card["task"]), arch=str(card["arch"]), head=str(card["head"]),
                       mean=float(card["normalization"]["mean"]), std=float(card["normalization"]["std"]),
                       temperature=float(card["temperature"]),
                       threshold=float(card.get("threshold", DEFAULT_THRESHOLD)),
                       sha256=str(card.get("sha256", "")), data=card)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"model card lacks a valid {exc} entry") from exc

    @property
    def version(self) -> str:
        """What answers name the checkpoint by: the first 12 hex digits of its sha256."""
        return self.sha256[:12]

    @property
    def test_metrics(self) -> dict:
        return self.data.get("metrics", {}).get("test", {})


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path: Path, write) -> None:
    """Call write(file_object) on a temp file in the same folder, then rename it over `path` (readable by
    all, as the umask allows)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); give it a new file's usual mode, so that another user
        # (the container's, reading models/ mounted by docker compose) can read it.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_card(path: Path, card: dict) -> None:
    """Write the card of checkpoint `path` (<name>.pt -> <name>.json) atomically."""
    atomic_write(Path(path).with_suffix(".json"), lambda f: f.write((json.dumps(card, indent=2) + "\n").encode()))


def read_card(path: Path) -> dict:
    """The card of checkpoint `path`, after checking that the checkpoint is the one it describes."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    card_path = path.with_suffix(".json")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{card_path}: model card missing or unreadable ({exc})") from exc
    check_sha256(path, card.get("sha256"), "its model card's")
    return card


def check_sha256(path: Path, expected: str | None, whose: str) -> None:
    actual = sha256_file(path)
    if expected != actual:
        raise CheckpointError(f"{path}: sha256 {actual[:12]} differs from {whose} "
                              f"{str(expected)[:12]} (tampered or partial file)")


ONNX_ENTRIES = {"onnx": "ONNX", "onnx_int8": "int8 ONNX"}  # card entry -> what it holds


def onnx_export(path: Path, card: dict, entry: str = "onnx") -> Path:
    """The ONNX export of checkpoint `path` that its card records under `entry` ('onnx', or 'onnx_int8'
    for the 8-bit one), checked against the card's sha256."""
    export = card.get(entry)
    if not export:
        raise CheckpointError(f"{path}: no {ONNX_ENTRIES[entry]} export recorded in its card (run `make onnx`)")
    if export.get("source_sha256") != card.get("sha256"):
        raise CheckpointError(f"{path}: the card's {ONNX_ENTRIES[entry]} export was made from another checkpoint "
                              "(run `make onnx`)")
    return recorded_file(path, export, f"{ONNX_ENTRIES[entry]} export not found (run `make onnx`)",
                         f"the card's {entry} entry")


def recorded_file(path: Path, record: dict, missing: str, whose: str) -> Path:
    """The file that a card `record` ({"file": ..., "sha256": ...}) names beside checkpoint `path`,
    checked against the record's sha256; `missing` says what is absent when it is not there."""
    file = Path(path).with_name(record["file"])
    if not file.is_file():
        raise CheckpointError(f"{file}: {missing}")
    check_sha256(file, record.get("sha256"), whose)
    return file


def read_fitted_card(path: Path, fitted_for: tuple[str, ...], served: dict[str, str], parse, without: str,
                     fix: str) -> tuple[dict, object | None]:
    """A card fitted on other models' outputs (the ensemble's, the number reader's): (the card, `parse(card)`)
    when its `checkpoints` (name -> sha256) are the served checkpoints of the models `fitted_for`
    (`served`: name -> sha256 of the loaded ones); else (the card or a stand-in with `error` saying why,
    None), logged with `fix`, the command that writes it. `without`: what the service does then."""
    try:
        card = json.loads(path.read_text())
        parsed, checkpoints = parse(card), dict(card["checkpoints"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        why = f"{path.name} missing or unreadable ({type(exc).__name__}): {without}"
        log.warning("%s. Fix: run `%s`", why, fix)
        return {"error": why}, None
    if checkpoints != {name: served.get(name) for name in fitted_for}:
        names = " and ".join([", ".join(fitted_for[:-1]), fitted_for[-1]] if len(fitted_for) > 2 else fitted_for)
        why = f"{path.name} was fitted for other checkpoints than the served {names}: {without}"
        log.warning("%s. Fix: run `%s`", why, fix)
        return {**card, "error": why}, None
    return card, parsed
