"""Network outputs -> calibrated probabilities (softmax with temperature, overlap sets). Shared by evaluation and serving."""

import torch

from app.ml.constants import DIGIT_SETS

# MEMBERSHIP[s, d] = 1 when digit d belongs to set s; marginal P(d) = sum over sets containing d.
MEMBERSHIP = torch.zeros(len(DIGIT_SETS), 10)
for _s, (_i, _j) in enumerate(DIGIT_SETS):
    MEMBERSHIP[_s, _i] = MEMBERSHIP[_s, _j] = 1.0

SET_INDEX = {pair: s for s, pair in enumerate(DIGIT_SETS)}


def set_index(a: int, b: int) -> int:
    """Index in DIGIT_SETS of the unordered set {a, b}."""
    return SET_INDEX[(min(a, b), max(a, b))]


def calibrated_softmax(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Temperature-scaled class probabilities (digits, sums or digit sets)."""
    return torch.softmax(logits / temperature, dim=1)


def overlap_probs(logits: torch.Tensor, head: str, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-digit probabilities (B, 10) and the probability of every digit set (B, 55)."""
    if head == "pairs":
        set_p = calibrated_softmax(logits, temperature)
        return set_p @ MEMBERSHIP.to(set_p.device), set_p
    p = torch.sigmoid(logits / temperature)
    return p, sigmoid_set_probs(p)


def sigmoid_set_probs(p: torch.Tensor) -> torch.Tensor:
    """P(exactly this set) under independent per-digit probabilities, renormalized over the 55 sets."""
    log_p, log_q = torch.log(p.clamp_min(1e-12)), torch.log((1 - p).clamp_min(1e-12))
    member = MEMBERSHIP.to(p.device)
    scores = log_p @ member.T + log_q @ (1 - member).T
    return torch.softmax(scores, dim=1)


def decode_sets(set_p: torch.Tensor) -> list[list[int]]:
    """The most probable digit set per row, as a sorted list of one or two digits."""
    best = set_p.argmax(dim=1).tolist()
    return [sorted(set(DIGIT_SETS[s])) for s in best]
