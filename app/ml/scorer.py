"""The whole computation a served request needs, as one torch module: normalize -> network ->
calibrated probabilities.

Serving runs it either directly (torch, e.g. on a GPU) or as its ONNX export (onnxruntime on CPU,
written by `training.export`); both are this one definition, so they cannot drift apart.
"""

import torch
from torch import nn

from app.ml.cards import Card
from app.ml.constants import IMAGE_SIZE, normalize
from app.ml.probabilities import calibrated_softmax, overlap_probs


class Scorer(nn.Module):
    """images (B, 28, 28) float32 in [0, 1] (and numbers (B,) int64 for sum) -> a tuple of probabilities:
    digit (B, 10); overlap per-digit (B, 10); sum digit (B, 10) and sum (B, 19); the line model takes
    strips (B, 28, W) and gives per-frame log-probabilities (B, W // 4, 11) of the digits and the blank. Names of inputs and
    outputs: `SCORER_INPUTS` and `SCORER_OUTPUTS` in `app.ml.constants`."""

    def __init__(self, net: nn.Module, card: "dict | Card"):
        super().__init__()
        card = Card.of(card)
        self.net, self.task, self.head = net, card.task, card.head
        self.mean, self.std, self.temperature = card.mean, card.std, card.temperature

    def forward(self, images: torch.Tensor, numbers: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        x = normalize(images.unsqueeze(1), self.mean, self.std)
        if self.task == "sum":
            digit_logits, sum_logits = self.net(x, numbers)
            return (calibrated_softmax(digit_logits.float(), self.temperature),
                    calibrated_softmax(sum_logits.float(), self.temperature))
        logits = self.net(x).float()
        if self.task == "line":
            return (torch.log_softmax(logits, -1),)
        if self.task == "overlap":
            return (overlap_probs(logits, self.head, self.temperature)[0],)
        return (calibrated_softmax(logits, self.temperature),)


def example_inputs(task: str, batch: int = 2) -> tuple[torch.Tensor, ...]:
    width = IMAGE_SIZE * (2 + batch % 5) if task == "line" else IMAGE_SIZE  # lines: any width
    images = torch.rand(batch, IMAGE_SIZE, width)
    return (images, torch.arange(batch) % 10) if task == "sum" else (images,)
