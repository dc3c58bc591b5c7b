"""Calibrate and score the number reader (the line model, the gate, the digit model on separate glyphs); write its card.

    python -m training.number_card                 # models/number.json, reports/number/
    python -m training.number_card --n-test 300    # a quicker run

The reader's card records the checkpoints it reads with (sha256), the
calibration of its string confidence (`app.ml.numbers.Calibration`: Platt scaling of log(-log p),
fitted by minimum negative log-likelihood on validation strings of 2-7 and of 1-20 digits rendered
from the MNIST training split's validation digits), and its test figures on the fixed test strings
(MNIST test digits): exact string accuracy by length, style and touching, per-digit accuracy by edit
distance, and the ECE of the string confidence.
"""

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from scipy import optimize

from app.core.config import Settings
from app.main import create_app
from app.ml import numbers
from app.ml.cards import atomic_write
from training import data, metrics
from training.strings import fixed_strings, make_strings

log = logging.getLogger("number_card")
VAL_SEED = 77


def read(client, sample: bytes) -> dict | None:
    """The service's answer for one upload through POST /predict/number (None for a 4xx), with
    `log_p`: the log of its confidence before calibration."""
    r = client.post("/predict/number", files={"file": ("line", sample, "application/octet-stream")})
    if r.status_code != 200:
        return None
    answer = r.json()
    answer["log_p"] = client.app.state.predictor.number_calibration.log_p(answer["confidence"])
    return answer


def fit_calibration(log_p: np.ndarray, correct: np.ndarray) -> numbers.Calibration:
    """The (a, b) minimizing the NLL of correct ~ Bernoulli(1 / (1 + e^b (-log_p)^a)): a logistic
    regression on log(-log p)."""
    z = np.log(np.maximum(-np.asarray(log_p, float), 1e-300))
    y = np.asarray(correct, float)

    def nll(w):
        s = w[0] * z + w[1]  # log-odds of a wrong string
        return float(np.mean(np.logaddexp(0, s) - (1 - y) * s))

    a, b = optimize.minimize(nll, np.array([1.0, 0.0]), method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-10}).x
    return numbers.Calibration(float(a), float(b))


def confidences(rows: list[dict], calibration: numbers.Calibration) -> np.ndarray:
    return np.array([calibration.confidence(r["log_p"]) for r in rows])


def run(client, samples) -> list[dict]:
    rows = []
    for s in samples:
        answer = read(client, s.data)
        text = answer["number"] if answer else ""
        rows.append({"truth": s.text, "read": text, "style": s.style, "touching": s.touching,
                     "log_p": answer["log_p"] if answer else -30.0, "errors": metrics.edit_distance(s.text, text)})
    return rows


def summarize(rows: list[dict], calibration: numbers.Calibration) -> dict:
    correct = np.array([r["truth"] == r["read"] for r in rows])
    conf = confidences(rows, calibration)
    by = lambda key: {str(v): float(np.mean([r["truth"] == r["read"] for r in rows if key(r) == v]))  # noqa: E731
                      for v in sorted({key(r) for r in rows}, key=str)}
    digits = sum(len(r["truth"]) for r in rows)
    return {"n": len(rows), "exact_string_accuracy": float(correct.mean()),
            "per_digit_accuracy": 1 - sum(r["errors"] for r in rows) / digits,
            "ece": metrics.ece(conf, correct), "by_length": by(lambda r: len(r["truth"])),
            "by_style": by(lambda r: r["style"]), "by_touching": by(lambda r: r["touching"]),
            "reliability": metrics.reliability(conf, correct, bins=10)}


def write_figures(rows: list[dict], calibration: numbers.Calibration, summary: dict, out: Path) -> None:
    """Exact string accuracy by length and by kind of line, and the reliability of the string confidence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from training.figures import reliability_diagram, save

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2), gridspec_kw={"width_ratios": [3, 2]})
    lengths = list(summary["by_length"])
    a.bar(range(len(lengths)), [100 * summary["by_length"][k] for k in lengths], color="#0a66c2", tick_label=lengths)
    a.set(xlabel="digits in the line", ylabel="exact string accuracy (%)", ylim=(50, 100.5),
          title=f"Test strings: {100 * summary['exact_string_accuracy']:.1f}% exact")
    kinds = {**{f"{k}": v for k, v in summary["by_style"].items()},
             **{("touching" if k == "True" else "apart"): v for k, v in summary["by_touching"].items()}}
    b.bar(list(kinds), [100 * v for v in kinds.values()], color="#2f9e44")
    b.set(ylim=(50, 100.5), title="by rendering and spacing")
    save(fig, out / "accuracy.png")
    correct = np.array([r["truth"] == r["read"] for r in rows])
    reliability_diagram(confidences(rows, calibration), correct, out / "reliability.png", summary["ece"])


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model-dir", type=Path, default=Path("models"))
    p.add_argument("--reports", type=Path, default=Path("reports"))
    p.add_argument("--n-val", type=int, default=3000,
                   help="validation strings of 2-7 digits (MNIST training split's validation digits)")
    p.add_argument("--n-val-long", type=int, default=600, help="validation strings of 1-20 digits")
    p.add_argument("--n-test", type=int, default=1000, help="test strings of 2-7 MNIST test digits")
    p.add_argument("--n-long", type=int, default=200, help="extra test strings of 1-20 digits")
    p.add_argument("--val-size", type=int, default=5000, help="as in training: validation digits carved from the 60k")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    mnist = data.load_mnist()
    _, val_idx = data.split_indices(len(mnist.train_x), args.val_size, 0)
    started = time.time()
    digits = mnist.train_x[val_idx], mnist.train_y[val_idx]
    with TestClient(create_app(Settings(model_dir=args.model_dir, device="cpu", log_level="warning"))) as client:
        val = run(client, make_strings(*digits, list(range(2, 8)), args.n_val, VAL_SEED))
        val_long = run(client, make_strings(*digits, list(range(1, 21)), args.n_val_long, VAL_SEED + 1))
        calibration = fit_calibration(np.array([r["log_p"] for r in val + val_long]),
                                      np.array([r["truth"] == r["read"] for r in val + val_long]))
        test = run(client, fixed_strings(mnist.test_x, mnist.test_y, args.n_test))
        long = run(client, make_strings(mnist.test_x, mnist.test_y, list(range(1, 21)), args.n_long, 4242))
        models = client.app.state.store.models
    card = {"reader": "line model (CTC) + gate + digit model on separate glyphs", "calibration": calibration.as_dict(),
            "calibration_method": "Platt scaling of log(-log p), p the string's CTC probability",
            "checkpoints": {name: models[name].card.sha256 for name in numbers.READER},
            "validation": {k: v for k, v in summarize(val, calibration).items() if k != "reliability"},
            "validation_1_to_20": {k: v for k, v in summarize(val_long, calibration).items() if k != "reliability"},
            "test": summarize(test, calibration), "test_1_to_20": summarize(long, calibration),
            "uncalibrated_test_ece": summarize(test, numbers.Calibration())["ece"], "seconds": round(time.time() - started, 1),
            "data": {"test": "training.strings.fixed_strings (MNIST test digits, seed fixed)",
                     "validation": f"MNIST training split, validation indices (seed 0, {args.val_size})"}}
    atomic_write(args.model_dir / numbers.CARD, lambda f: f.write((json.dumps(card, indent=2) + "\n").encode()))
    out = args.reports / "number"
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "metrics.json", lambda f: f.write((json.dumps(card, indent=2) + "\n").encode()))
    write_figures(test, calibration, card["test"], out)
    errors = [r for r in test if r["truth"] != r["read"]]
    atomic_write(out / "errors.json", lambda f: f.write((json.dumps(errors, indent=1) + "\n").encode()))
    log.info("calibration %s; test exact %.4f per-digit %.4f ECE %.4f; by length %s", calibration,
             card["test"]["exact_string_accuracy"], card["test"]["per_digit_accuracy"], card["test"]["ece"],
             card["test"]["by_length"])


if __name__ == "__main__":
    main()
