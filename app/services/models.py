"""The served models: loaded once at startup from MODEL_DIR, each with its card and a batch predictor."""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from app.ml.checkpoint import CheckpointError, load_model
from app.ml.constants import TASKS, normalize
from app.ml.decode import calibrated_softmax, decode_threshold, overlap_probs

log = logging.getLogger("digitserve.models")


@dataclass
class ServedModel:
    name: str
    task: str
    module: torch.nn.Module
    card: dict
    device: str

    @property
    def version(self) -> str:
        return self.card["sha256"][:12]

    @property
    def ref(self) -> dict:
        return {"name": self.name, "task": self.task, "arch": self.card["arch"], "version": self.version}

    def threshold(self) -> float:
        return float(self.card.get("threshold", 0.5))

    @torch.inference_mode()
    def predict(self, images: np.ndarray, numbers: np.ndarray | None = None) -> list[dict]:
        """A batch of 28x28 [0, 1] images (and numbers for sum) -> one answer dict per image."""
        norm = self.card["normalization"]
        x = normalize(torch.from_numpy(images).unsqueeze(1).to(self.device), norm["mean"], norm["std"])
        t = self.card["temperature"]
        if self.task == "sum":
            number = torch.from_numpy(numbers).to(self.device)
            digit_logits, sum_logits = self.module(x, number)
            p = calibrated_softmax(digit_logits.float(), t).cpu()
            sum_p = calibrated_softmax(sum_logits.float(), t).cpu()
            return [{"digit": int(p[i].argmax()), "number": int(numbers[i]), "sum": int(sum_p[i].argmax()),
                     "confidence": float(sum_p[i].max()), "probabilities": p[i].tolist()} for i in range(len(images))]
        logits = self.module(x).float()
        if self.task == "overlap":
            p, _ = overlap_probs(logits, self.card["head"], t)
            p = p.cpu()
            digits = decode_threshold(p, self.threshold())
            return [{"digits": digits[i], "probabilities": p[i].tolist(), "threshold": self.threshold()}
                    for i in range(len(images))]
        p = calibrated_softmax(logits, t).cpu()
        return [{"digit": int(p[i].argmax()), "confidence": float(p[i].max()), "probabilities": p[i].tolist()}
                for i in range(len(images))]


@dataclass
class ModelStore:
    models: dict[str, ServedModel] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def ready(self) -> bool:
        return not self.errors and set(self.models) == set(TASKS)


def load_all(model_dir: Path, device: str) -> ModelStore:
    """Load models/<task>.pt for every task; a failure is logged in one line and kept in `errors`."""
    store = ModelStore()
    for task in TASKS:
        path = Path(model_dir) / f"{task}.pt"
        try:
            module, card = load_model(path, device)
            if card["task"] != task:
                raise CheckpointError(f"{path}: holds a {card['task']!r} model, expected {task!r}")
            store.models[task] = ServedModel(task, task, module, card, device)
            log.info("loaded %s: %s/%s version %s on %s", path, card["task"], card["arch"], card["sha256"][:12], device)
        except CheckpointError as exc:
            store.errors[task] = str(exc)
            log.error("model %s unavailable: %s. Fix: run `make train` (or restore %s from git).", task, exc, path)
    return store


def warm_up(store: ModelStore) -> None:
    """One tiny forward per model so the first request does not pay for lazy initialization."""
    blank = np.zeros((1, 28, 28), dtype=np.float32)
    for model in store.models.values():
        model.predict(blank, np.zeros(1, dtype=np.int64) if model.task == "sum" else None)
