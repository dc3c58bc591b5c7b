"""Metrics shared by training (validation) and evaluation (test): plain numpy, no torch."""

import numpy as np


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error: bin-weighted |accuracy - confidence| over equal-width bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> list[dict]:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    return [{"lo": float(edges[b]), "hi": float(edges[b + 1]), "count": int((which == b).sum()),
             "accuracy": float(correct[which == b].mean()) if (which == b).any() else None,
             "confidence": float(confidence[which == b].mean()) if (which == b).any() else None}
            for b in range(bins)]


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (y_true, y_pred), 1)
    return m


def per_class(cm: np.ndarray) -> dict:
    tp = np.diag(cm).astype(float)
    precision = tp / np.maximum(cm.sum(0), 1)
    recall = tp / np.maximum(cm.sum(1), 1)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return {"precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist()}


def multilabel(true_hot: np.ndarray, pred_hot: np.ndarray) -> dict:
    """Exact-set accuracy, Hamming accuracy and per-label precision/recall/F1 for multi-hot targets."""
    tp = (true_hot * pred_hot).sum(0)
    precision = tp / np.maximum(pred_hot.sum(0), 1)
    recall = tp / np.maximum(true_hot.sum(0), 1)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return {"exact_set_accuracy": float((true_hot == pred_hot).all(1).mean()),
            "hamming_accuracy": float((true_hot == pred_hot).mean()),
            "per_label": {"precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist()},
            "macro_f1": float(f1.mean())}


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]
