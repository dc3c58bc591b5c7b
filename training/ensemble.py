"""Fit the digit route's combination of the digit model and the gate (`app.ml.ensemble`); write its card.

    python -m training.ensemble                  # models/ensemble.json, reports/ensemble/metrics.json

Run it after training either model (`make train` does). The temperature is fitted by minimum NLL on
the MNIST validation split (the digit model's own validation digits); the card records the two
checkpoints' sha256, the figures of each model alone and combined on the validation split, on the
gate's rendered validation digits (pen-drawn and printed, through the service's preprocessing) and on
the MNIST test split (scored once, never used for fitting). Both models run as the service runs them.
"""

import argparse
import json
import logging
from pathlib import Path

import numpy as np
from scipy import optimize

from app.ml.cards import atomic_write
from app.ml.ensemble import CARD, COMBINED, combine
from app.services.models import load_all
from training import data, metrics, negatives

log = logging.getLogger("ensemble")


def fit_temperature(p_digit: np.ndarray, p_gate: np.ndarray, labels: np.ndarray) -> float:
    """The T in [0.25, 4] minimizing the combined probabilities' NLL."""
    def nll(t: float) -> float:
        p = combine(p_digit, p_gate, t)[np.arange(len(labels)), labels]
        return float(-np.mean(np.log(np.maximum(p, 1e-12))))

    return float(optimize.minimize_scalar(nll, bounds=(0.25, 4.0), method="bounded", options={"xatol": 1e-4}).x)


def figures(p: np.ndarray, labels: np.ndarray) -> dict:
    right = p.argmax(1) == labels
    return {"n": int(len(labels)), "accuracy": float(right.mean()), "ece": metrics.ece(p.max(1), right)}


def score(p_digit: np.ndarray, p_gate: np.ndarray, labels: np.ndarray, temperature: float) -> dict:
    """Accuracy and ECE of the digit model alone, the gate's digits alone, and the combination."""
    gate_digits = p_gate[:, :10] / p_gate[:, :10].sum(1, keepdims=True)
    return {"digit_model": figures(p_digit, labels), "gate": figures(gate_digits, labels),
            "combined": figures(combine(p_digit, p_gate, temperature), labels)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model-dir", type=Path, default=Path("models"))
    p.add_argument("--reports", type=Path, default=Path("reports"))
    p.add_argument("--data-dir", type=Path, default=data.DATA_DIR, help="local MNIST folder (and the gate's rendered sets)")
    p.add_argument("--val-size", type=int, default=5000, help="as in training: validation digits carved from the 60k")
    p.add_argument("--limit", type=int, default=0, help="use only this many images of each set (0: all)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = load_all(args.model_dir, "cpu")
    if store.errors:
        raise SystemExit(f"cannot fit the ensemble: {store.errors}")
    digit, gate = store.models["digit"], store.models["gate"]
    mnist = data.load_mnist(args.data_dir)
    train_idx, val_idx = data.split_indices(len(mnist.train_x), args.val_size, 0)
    rendered_x, rendered_y = negatives.gate_sets(mnist, train_idx, val_idx, args.data_dir,
                                                 0.02 if args.limit else 1.0)["val"]
    keep = rendered_y < 10  # the rendered digits (not the negatives)
    sets = {"validation": (mnist.train_x[val_idx], mnist.train_y[val_idx]),
            "rendered_validation": (rendered_x[keep], rendered_y[keep]), "test": (mnist.test_x, mnist.test_y)}
    outputs = {}
    for name, (x, y) in sets.items():
        x, y = (x[:args.limit], y[:args.limit]) if args.limit else (x, y)
        images = x.astype(np.float32) / 255
        outputs[name] = (digit.runtime(images)[0], gate.runtime(images)[0], y.astype(np.int64))
    temperature = fit_temperature(*outputs["validation"])
    card = {"temperature": temperature, "checkpoints": {name: store.models[name].card.sha256 for name in COMBINED},
            "rule": "softmax((log p_digit + log p_gate(digit | one digit)) / (2 T)), T by minimum NLL on validation",
            "runtimes": {n: f"{m.runtime.name} ({m.runtime.precision})" for n, m in (("digit", digit), ("gate", gate))},
            **{name: score(*out, temperature) for name, out in outputs.items()},
            "data": {"validation": f"MNIST training split, validation indices (seed 0, {args.val_size})",
                     "rendered_validation": f"training.negatives.gate_sets v{negatives.VERSION}: its validation digits",
                     "test": "MNIST test split (scored once, not used for fitting)"}}
    text = (json.dumps(card, indent=2) + "\n").encode()
    atomic_write(args.model_dir / CARD, lambda f: f.write(text))
    atomic_write(args.reports / "ensemble" / "metrics.json", lambda f: f.write(text))
    log.info("T = %.3f; validation %.4f -> %.4f, rendered %.4f -> %.4f, test %.4f -> %.4f (digit model -> combined)",
             temperature, *[card[s][k]["accuracy"] for s in sets for k in ("digit_model", "combined")])


if __name__ == "__main__":
    main()
