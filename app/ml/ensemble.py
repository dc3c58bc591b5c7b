"""The digit route's answer from two networks: the digit model and the gate, which every digit upload
passes through anyway (to be refused or not) and which also tells the ten digits apart.

The gate learned its digits on MNIST *and* on rendered uploads (pen-drawn and printed digits), the
digit model on MNIST alone. Their geometric mean is right more often than the digit model on every
set we have (validation: MNIST 99.42% -> 99.44%, rendered digits 97.33% -> 97.91%; the gate alone is
better on rendered digits, 98.17%, and worse on MNIST, 99.32%), at no extra cost: both forward
passes already run.

    p(d) = softmax_d((log p_digit(d) + log p_gate(d | one digit)) / (2 T))

T is fitted on the MNIST validation split (minimum NLL) by `python -m training.ensemble`, which writes
MODEL_DIR/ensemble.json with the two checkpoints' sha256 (`checkpoints`, as the number reader's card
names its own). The service combines only when that card names the two checkpoints it serves;
otherwise the digit model answers alone and /models says why.
NumPy only (the CPU service runs without torch).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.ml.cards import read_fitted_card
from app.ml.constants import DIGITS

CARD = "ensemble.json"
COMBINED = ("digit", "gate")  # the models whose probabilities are combined, as the card names them


@dataclass(frozen=True)
class Ensemble:
    """The combination's one parameter."""

    temperature: float

    def combine(self, p_digit, p_gate: np.ndarray) -> np.ndarray:
        """(B, 10) digit-model probabilities and (B, 12) gate probabilities -> (B, 10) calibrated."""
        return combine(p_digit, p_gate, self.temperature)


def combine(p_digit, p_gate: np.ndarray, temperature: float) -> np.ndarray:
    """softmax((log p_digit + log p_gate(d | one digit)) / 2T), written as a normalized power of the
    product (the gate's renormalization over the ten digits is a constant per row and cancels); in
    float64, each factor floored at 1e-12, so two sure but opposite models never underflow to 0/0."""
    digits = np.asarray(p_gate, np.float64)[:, :len(DIGITS)]
    q = (np.maximum(np.asarray(p_digit, np.float64), 1e-12) * np.maximum(digits, 1e-12)) ** (0.5 / temperature)
    return (q / q.sum(1, keepdims=True)).astype(np.float32)


def read_ensemble_card(model_dir: Path, served: dict[str, str]) -> tuple[dict, Ensemble | None]:
    """MODEL_DIR/ensemble.json and its Ensemble when its `checkpoints` are the served digit model and
    gate (`served`: name -> sha256 of the loaded checkpoints); else (the card or why it is not used,
    None): the digit model then answers alone."""
    return read_fitted_card(Path(model_dir) / CARD, COMBINED, served, lambda card: Ensemble(float(card["temperature"])),
                            "the digit model answers alone", "python -m training.ensemble")
