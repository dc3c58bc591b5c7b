"""The served models: loaded once at startup from MODEL_DIR, each with its card and a batch predictor."""

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.ml.answers import answers
from app.ml.cards import Card, CheckpointError
from app.ml.constants import BATCHED, IMAGE_SIZE, MODELS
from app.ml.ensemble import Ensemble
from app.services.runtimes import Runtime, open_model

log = logging.getLogger("digitserve.models")


@dataclass
class ServedModel:
    name: str  # the model's name in MODELS (its checkpoint is <name>.pt)
    runtime: Runtime
    card: Card

    @property
    def task(self) -> str:
        return self.card.task

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def ref(self) -> dict:
        return {"name": self.name, "task": self.task, "arch": self.card.arch, "version": self.version}

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
        return answers(self.task, outputs, numbers, self.card.threshold)


@dataclass
class GatedModel:
    """A gated task's model and the gate on the same images, run as one unit: one queue, one hop to
    the inference thread and one combination per batch instead of per request. With an `ensemble`
    (the digit task's, `app.ml.ensemble`), the model's probabilities are combined with the gate's
    digits before its answers are read from them."""

    model: ServedModel
    gate: ServedModel
    ensemble: Ensemble | None = None

    def predict(self, images: np.ndarray, numbers: np.ndarray | None = None) -> list[tuple[dict, dict]]:
        """A batch of 28x28 [0, 1] images -> per image (the model's answer, the gate's verdict)."""
        x = images.astype(np.float32, copy=False)
        outputs, gate_outputs = self.model.runtime(x, numbers), self.gate.runtime(x)
        if self.ensemble:
            outputs = [self.ensemble.combine(outputs[0], gate_outputs[0]), *outputs[1:]]
        results = answers(self.model.task, outputs, numbers, self.model.card.threshold)
        return list(zip(results, answers("gate", gate_outputs, None, self.gate.card.threshold)))


@dataclass
class ModelStore:
    models: dict[str, ServedModel] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def ready(self) -> bool:
        return not self.errors and set(self.models) == set(MODELS)


def served_shas(store: "ModelStore") -> dict[str, str]:
    """The sha256 of each loaded model's checkpoint, by name."""
    return {name: model.card.sha256 for name, model in store.models.items()}


def load_all(model_dir: Path, device: str, choice: str = "auto", threads: int = 1,
             precision: str = "int8") -> ModelStore:
    """Load models/<name>.pt for every model (`choice`: INFERENCE_RUNTIME, `precision`: ONNX_PRECISION);
    a failure is logged in one line and kept in `errors`."""
    store = ModelStore()
    for name in MODELS:
        path = Path(model_dir) / f"{name}.pt"
        try:
            runtime, card = open_model(path, device, choice, threads, precision)
            card = Card.of(card)
            if card.task != name:
                raise CheckpointError(f"{path}: holds a {card.task!r} model, expected {name!r}")
            store.models[name] = ServedModel(name, runtime, card)
            log.info("loaded %s: %s/%s version %s in %s (%s) on %s", path, card.task, card.arch, card.version,
                     runtime.name, runtime.precision, runtime.device)
        except CheckpointError as exc:
            store.errors[name] = str(exc)
            log.error("model %s unavailable: %s. Fix: run `make train` (or restore %s from git).", name, exc, path)
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
