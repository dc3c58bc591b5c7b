"""Run a model over a fixed split and score it: used for validation in training and the test report."""

import numpy as np
import torch

from app.ml.answers import decode_threshold, reject_reasons
from app.ml.probabilities import calibrated_softmax, decode_sets, overlap_probs, set_index
from training import metrics
from training.tasks import forward, main_logits


@torch.no_grad()
def collect(model, task: str, split: dict, device: str, batch_size: int = 1000) -> dict:
    """Raw logits over a split, on CPU: {'logits': ...} plus {'sum_logits': ...} for sum."""
    model.eval()
    chunks, sums = [], []
    n = len(split["x"])
    for start in range(0, n, batch_size):
        batch = {k: v[start:start + batch_size] for k, v in split.items()}
        out = forward(model, task, batch, device)
        chunks.append(main_logits(task, out).float().cpu())
        if task == "sum":
            sums.append(out[1].float().cpu())
    result = {"logits": torch.cat(chunks)}
    if sums:
        result["sum_logits"] = torch.cat(sums)
    return result


def to_hot(sets: list[list[int]]) -> np.ndarray:
    hot = np.zeros((len(sets), 10), dtype=np.float32)
    for row, digits in enumerate(sets):
        hot[row, digits] = 1.0
    return hot


def score(task: str, head: str, outputs: dict, split: dict, temperature: float = 1.0, threshold: float = 0.5) -> dict:
    """Metrics for one split. Includes arrays (under 'arrays') that the figures need.

    Overlap predictions use the service's rule: digits whose probability reaches `threshold`
    (one or two); the joint argmax over the 55 sets is scored alongside for comparison.
    """
    logits = outputs["logits"]
    if task == "overlap":
        p, set_p = overlap_probs(logits, head, temperature)
        pred_sets = decode_threshold(p, threshold)
        pred_hot, true_hot = to_hot(pred_sets), split["hot"].numpy()
        chosen = torch.tensor([set_index(s[0], s[-1]) for s in pred_sets])
        conf = set_p.gather(1, chosen.view(-1, 1)).squeeze(1).numpy()
        correct = (pred_hot == true_hot).all(1)
        m = metrics.multilabel(true_hot, pred_hot)
        m["exact_set_accuracy_argmax"] = float((to_hot(decode_sets(set_p)) == true_hot).all(1).mean())
        m["threshold"] = threshold
        m["ece"] = metrics.ece(conf, correct)
        m["n"] = len(true_hot)
        m["arrays"] = {"confidence": conf, "correct": correct, "probs": p.numpy(), "pred_sets": pred_sets}
        return m
    p = calibrated_softmax(logits, temperature)
    pred = p.argmax(1).numpy()
    y = split["y"].numpy()
    conf = p.max(1).values.numpy()
    correct = pred == y
    cm = metrics.confusion(y, pred, p.shape[1])
    m = {"accuracy": float(correct.mean()), "ece": metrics.ece(conf, correct), "n": len(y),
         "per_class": metrics.per_class(cm), "confusion": cm.tolist()}
    arrays = {"confidence": conf, "correct": correct, "probs": p.numpy(), "pred": pred}
    if task == "gate":
        m.update(rejection_rates(p.numpy(), y, split, threshold))
    if task == "sum":
        sum_p = calibrated_softmax(outputs["sum_logits"], temperature)
        sum_pred = sum_p.argmax(1).numpy()
        sum_correct = sum_pred == split["sum"].numpy()
        m["digit_accuracy"] = m["accuracy"]
        m["sum_accuracy"] = float(sum_correct.mean())
        m["joint_accuracy"] = float((sum_correct & correct).mean())
        m["sum_ece"] = metrics.ece(sum_p.max(1).values.numpy(), sum_correct)
        arrays["sum_pred"] = sum_pred
    m["arrays"] = arrays
    return m


def rejection_rates(p: np.ndarray, y: np.ndarray, split: dict, threshold: float) -> dict:
    """The gate's decisions at `threshold`: digits wrongly rejected, non-digits rightly rejected."""
    rejected = np.array([r is not None for r in reject_reasons(p, threshold)])
    digit = y < 10
    rendered = split["rendered"].numpy() if "rendered" in split else np.zeros(len(y), bool)
    rate = lambda mask: float(rejected[mask].mean()) if mask.any() else 0.0  # noqa: E731
    return {"threshold": threshold, "false_rejection": rate(digit), "false_rejection_mnist": rate(digit & ~rendered),
            "false_rejection_rendered": rate(digit & rendered), "rejection": rate(~digit),
            "rejection_not_a_digit": rate(y == 10), "rejection_several_digits": rate(y == 11)}


# Per task, the figures reported (label, metric key) in logs, reports and tables; the first is the
# headline that model selection maximizes.
REPORTED = {
    "digit": [("accuracy", "accuracy")],
    "overlap": [("exact-set", "exact_set_accuracy"), ("hamming", "hamming_accuracy"), ("macro F1", "macro_f1")],
    "sum": [("sum acc", "sum_accuracy"), ("digit acc", "digit_accuracy")],
    "gate": [("accuracy", "accuracy"), ("non-digits rejected", "rejection"), ("digits rejected", "false_rejection")],
    "number": [("exact string", "exact_string_accuracy"), ("per digit", "per_digit_accuracy")],  # test lines
}


def headline(task: str, m: dict) -> float:
    """The one number model selection maximizes."""
    return m[REPORTED[task][0][1]]


def public(m: dict) -> dict:
    """Metrics without the bulky arrays (what checkpoints and JSON reports store)."""
    return {k: v for k, v in m.items() if k != "arrays"}

