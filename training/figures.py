"""Matplotlib figures for the evaluation report. Each function writes one PNG."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np

from training.metrics import reliability  # noqa: E402
from training.scoring import REPORTED  # noqa: E402


def save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def curves(history: list[dict], path: Path, metric_name: str) -> None:
    epochs = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    a.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    a.plot(epochs, [h["val_loss"] for h in history], "o-", label="validation")
    a.set(xlabel="epoch", ylabel="loss", title="Loss", yscale="log")
    a.legend()
    b.plot(epochs, [100 * h["val_metric"] for h in history], "o-", color="tab:green")
    b.set(xlabel="epoch", ylabel="%", title=f"Validation {metric_name}")
    b.grid(alpha=0.3)
    save(fig, path)


def confusion(cm: np.ndarray, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(5, 4.4))
    shown = np.log1p(cm)
    ax.imshow(shown, cmap="Blues")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if cm[i, j]:
                ax.text(j, i, cm[i, j], ha="center", va="center", fontsize=7,
                        color="white" if shown[i, j] > shown.max() / 2 else "black")
    ax.set(xlabel="predicted", ylabel="true", title=title, xticks=range(len(cm)), yticks=range(len(cm)))
    save(fig, path)


def per_class(prf: dict, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(7, 3))
    x = np.arange(len(prf["precision"]))
    for k, name in enumerate(("precision", "recall", "f1")):
        ax.bar(x + (k - 1) * 0.27, 100 * np.array(prf[name]), 0.27, label=name)
    low = min(min(prf[n]) for n in ("precision", "recall", "f1"))
    ax.set(xticks=x, xlabel="digit", ylabel="%", title=title, ylim=(max(0, 100 * low - 2), 100.2))
    ax.legend(ncol=3, fontsize=8, loc="lower right")
    save(fig, path)


def reliability_diagram(confidence, correct, path: Path, ece: float) -> None:
    bins = [b for b in reliability(confidence, correct) if b["count"]]
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.bar([(b["lo"] + b["hi"]) / 2 for b in bins], [b["accuracy"] for b in bins],
           width=[b["hi"] - b["lo"] for b in bins], edgecolor="k", alpha=0.7, label="accuracy")
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "r.", label="mean confidence")
    ax.set(xlabel="confidence", ylabel="accuracy", title=f"Reliability (ECE {100 * ece:.2f}%)", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left", fontsize=8)
    save(fig, path)


def samples(images: np.ndarray, truth: list[str], preds: list[str], path: Path, n: int = 24) -> None:
    """A grid of test inputs with predictions, the first errors first (red) then correct ones."""
    wrong = [i for i in range(len(preds)) if preds[i] != truth[i]][: n // 3]
    right = [i for i in range(len(preds)) if preds[i] == truth[i]][: n - len(wrong)]
    picks = wrong + right
    cols = 8
    rows = (len(picks) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, 1.35 * rows))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, i in zip(np.ravel(axes), picks):
        ax.imshow(images[i], cmap="gray")
        ax.set_title(f"{preds[i]} ({truth[i]})", fontsize=7, color="red" if preds[i] != truth[i] else "black")
    fig.suptitle("prediction (truth); errors in red", fontsize=9)
    save(fig, path)


def write_all(out: Path, task: str, card: dict, m: dict, split: dict) -> None:
    arrays = m["arrays"]
    metric_name = REPORTED[task][0][0]
    if card.get("history"):
        curves(card["history"], out / "curves.png", metric_name)
    images = split["x"][:, 0].numpy()
    if task == "overlap":
        per_class(m["per_label"], out / "per_class.png", "Per-digit precision / recall / F1")
        truth = ["".join(map(str, sorted(set(p)))) for p in split["pair_labels"].tolist()]
        preds = ["".join(map(str, s)) for s in arrays["pred_sets"]]
    else:
        cm = np.array(m["confusion"])
        confusion(cm, out / "confusion.png", f"{task}: confusion matrix (test)")
        per_class(m["per_class"], out / "per_class.png", "Per-class precision / recall / F1")
        if task == "sum":
            numbers = split["number"].tolist()
            truth = [f"{y}+{k}={y + k}" for y, k in zip(split["y"].tolist(), numbers)]
            preds = [f"{d}+{k}={s}" for d, k, s in zip(arrays["pred"].tolist(), numbers, arrays["sum_pred"].tolist())]
        else:
            names = card["classes"] if task == "gate" else None
            label = (lambda v: names[v]) if names else str
            truth, preds = [label(v) for v in split["y"].tolist()], [label(v) for v in arrays["pred"].tolist()]
    samples(images, truth, preds, out / "samples.png")
    reliability_diagram(arrays["confidence"], arrays["correct"], out / "reliability.png", m["ece"])
