"""The served models: loaded once at startup from MODEL_DIR, each with its card and a batch predictor."""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.ml.answers import answers
from app.ml.cards import CheckpointError
from app.ml.constants import BATCHED, IMAGE_SIZE, MODELS
from app.services.runtimes import Runtime, open_model

log = logging.getLogger("digitserve.models")


@dataclass
class ServedModel:
    name: str
    task: str
    runtime: Runtime
    card: dict

    @property
    def version(self) -> str:
        return self.card["sha256"][:12]

    @property
    def ref(self) -> dict:
        return {"name": self.name, "task": self.task, "arch": self.card["arch"], "version": self.version}

    def threshold(self) -> float:
        return float(self.card.get("threshold", 0.5))

    @property
    def batched(self) -> bool:
        """Served through a micro-batcher of 28x28 images (all but the line model)."""
        return self.task in BATCHED

    def read_strip(self, strip: np.ndarray) -> np.ndarray:
        """The line model: one strip (28, W) in [0, 1] -> per-frame log-probabilities (W // 4, 11)."""
        return self.runtime(strip[None].astype(np.float32, copy=False))[0][0]

    def predict(self, images: np.ndarray, numbers: np.ndarray | None = None) -> list[dict]:
        """A batch of 28x28 [0, 1] images (and numbers for sum) -> one answer dict per image."""
        outputs = self.runtime(images.astype(np.float32, copy=False), numbers)
        return answers(self.task, outputs, numbers, self.threshold())


@dataclass
class ModelStore:
    models: dict[str, ServedModel] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def ready(self) -> bool:
        return not self.errors and set(self.models) == set(MODELS)


def load_all(model_dir: Path, device: str, runtime: str = "auto", threads: int = 1) -> ModelStore:
    """Load models/<name>.pt for every model; a failure is logged in one line and kept in `errors`."""
    store = ModelStore()
    for task in MODELS:
        path = Path(model_dir) / f"{task}.pt"
        try:
            model, card = open_model(path, device, runtime, threads)
            if card["task"] != task:
                raise CheckpointError(f"{path}: holds a {card['task']!r} model, expected {task!r}")
            store.models[task] = ServedModel(task, task, model, card)
            log.info("loaded %s: %s/%s version %s in %s on %s", path, card["task"], card["arch"], card["sha256"][:12],
                     model.name, model.device)
        except CheckpointError as exc:
            store.errors[task] = str(exc)
            log.error("model %s unavailable: %s. Fix: run `make train` (or restore %s from git).", task, exc, path)
    return store


def warm_up(store: ModelStore, max_batch: int = 1) -> None:
    """A forward pass at batch sizes 1 and `max_batch` per model, so that no request pays for lazy
    initialization or for growing the runtime's memory arena."""
    for model in store.models.values():
        if not model.batched:
            model.read_strip(np.zeros((IMAGE_SIZE, 4 * IMAGE_SIZE), dtype=np.float32))
            continue
        for size in sorted({1, max_batch}):
            blank = np.zeros((size, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
            model.predict(blank, np.zeros(size, dtype=np.int64) if model.task == "sum" else None)
