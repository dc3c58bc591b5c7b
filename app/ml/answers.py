"""From class probabilities to the service's answers. NumPy only: the CPU service runs without torch."""

import numpy as np

from app.ml.constants import DIGITS, REJECT_REASONS


def decode_threshold(per_digit, threshold: float) -> list[list[int]]:
    """Digits whose probability reaches the threshold; at least the top one, at most the top two.

    `per_digit` is (B, 10): a NumPy array or a torch tensor (training scores with the same rule)."""
    result = []
    for row in per_digit.tolist():
        ranked = sorted(range(10), key=lambda d: -row[d])
        chosen = [d for d in ranked[:2] if row[d] >= threshold] or ranked[:1]
        result.append(sorted(chosen))
    return result


def reject_reasons(gate_p: np.ndarray, threshold: float) -> list[str | None]:
    """Per image: None when the gate accepts it as one digit, else why not ("not_a_digit" or
    "several_digits"). An image is rejected when P(not one digit) reaches `threshold`."""
    reject = gate_p[:, len(DIGITS):]
    rejected = reject.sum(1) >= threshold
    return [REJECT_REASONS[int(np.argmax(r))] if out else None for r, out in zip(reject.tolist(), rejected.tolist())]


def answers(task: str, outputs: list[np.ndarray], numbers: np.ndarray | None, threshold: float) -> list[dict]:
    """One answer dict per image from the scorer's outputs (named in `app.ml.constants.SCORER_OUTPUTS`)."""
    p = outputs[0]
    if task == "gate":
        reasons = reject_reasons(p, threshold)
        p_reject, p_not = p[:, len(DIGITS):].sum(1).tolist(), p[:, len(DIGITS)].tolist()
        return [{"reason": reasons[i], "p_reject": p_reject[i], "p_not_a_digit": p_not[i], "probabilities": p[i]}
                for i in range(len(p))]
    if task == "overlap":
        digits = decode_threshold(p, threshold)
        return [{"digits": digits[i], "probabilities": p[i].tolist(), "threshold": threshold} for i in range(len(p))]
    digit, confidence = p.argmax(1).tolist(), p.max(1).tolist()
    if task == "sum":
        sum_p = outputs[1]
        sums, confidence = sum_p.argmax(1).tolist(), sum_p.max(1).tolist()
        return [{"digit": digit[i], "number": int(numbers[i]), "sum": sums[i], "confidence": confidence[i],
                 "probabilities": p[i].tolist()} for i in range(len(p))]
    return [{"digit": digit[i], "confidence": confidence[i], "probabilities": p[i].tolist()} for i in range(len(p))]
