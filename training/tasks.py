"""What differs between the three tasks during training: the batches, the forward call and the loss.

Every batch is a dict: `x` (images in [0, 1], N x 1 x 28 x 28), and per task `y` (digit), `set`
(index into DIGIT_SETS) and `hot` (multi-hot) for overlap, `number` and `sum` for sum.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from app.ml.constants import normalize
from app.ml.probabilities import SET_INDEX
from training.data import make_numbers, multi_hot, pair_images


def random_affine(x: torch.Tensor, gen: torch.Generator, degrees: float = 12.0, translate: float = 0.1,
                  scale: tuple = (0.9, 1.1)) -> torch.Tensor:
    """Light random rotation, scale and shift of a batch of [0, 1] images (black padding)."""
    n = x.shape[0]

    def uniform(lo, hi):
        return lo + (hi - lo) * torch.rand(n, generator=gen)

    angle = uniform(-degrees, degrees) * math.pi / 180
    s = uniform(*scale)
    tx, ty = uniform(-2 * translate, 2 * translate), uniform(-2 * translate, 2 * translate)
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False)


def to_unit(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28) in [0, 1]."""
    return torch.from_numpy(images).float().div_(255.0).unsqueeze(1)


def set_targets(pair_labels: np.ndarray) -> torch.Tensor:
    return torch.tensor([SET_INDEX[(min(a, b), max(a, b))] for a, b in pair_labels.tolist()])


TEST_PAIR_SEED = 20240607  # the fixed test pairs and sum numbers: every run and every report scores the same ones


def fixed_split(task: str, images: np.ndarray, labels: np.ndarray, seed: int, n_pairs: int) -> dict:
    """A fixed evaluation set: digits as they are, seeded pairs, or seeded numbers."""
    if task == "overlap":
        idx = np.random.default_rng(seed).integers(0, len(images), size=(n_pairs, 2))
        pl = labels[idx].astype(np.int64)
        return {"x": torch.from_numpy(pair_images(images, idx)).unsqueeze(1), "set": set_targets(pl),
                "hot": torch.from_numpy(multi_hot(pl)), "pair_labels": torch.from_numpy(pl)}
    batch = {"x": to_unit(images), "y": torch.from_numpy(labels.astype(np.int64))}
    if task == "sum":
        batch["number"] = torch.from_numpy(make_numbers(len(images), seed))
        batch["sum"] = batch["y"] + batch["number"]
    return batch


def gate_split(images: np.ndarray, labels: np.ndarray, rendered: tuple[np.ndarray, np.ndarray]) -> dict:
    """MNIST digits followed by rendered uploads (`training.negatives`), with a `rendered` row mask."""
    x, y = np.concatenate([images, rendered[0]]), np.concatenate([labels.astype(np.int64), rendered[1]])
    split = fixed_split("gate", x, y, 0, 0)
    split["rendered"] = torch.arange(len(y)) >= len(images)
    return split


def train_batches(task: str, images: np.ndarray, labels: np.ndarray, batch_size: int, epoch_size: int,
                  rng: np.random.Generator, gen: torch.Generator, augment: dict | None):
    """One epoch of fresh training batches: shuffled digits, fresh pairs, fresh numbers.

    `augment` holds random_affine's keyword arguments (None: no augmentation)."""
    n = epoch_size if task == "overlap" else len(images)
    order = rng.integers(0, len(images), size=(n, 2)) if task == "overlap" else rng.permutation(n)
    labels = labels.astype(np.int64)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        if task == "overlap":
            a, b = to_unit(images[idx[:, 0]]), to_unit(images[idx[:, 1]])
            if augment is not None:
                a, b = random_affine(a, gen, **augment), random_affine(b, gen, **augment)
            pl = labels[idx]
            yield {"x": (a + b) / 2, "set": set_targets(pl), "hot": torch.from_numpy(multi_hot(pl))}
            continue
        x = to_unit(images[idx])
        batch = {"x": random_affine(x, gen, **augment) if augment is not None else x, "y": torch.from_numpy(labels[idx])}
        if task == "sum":
            batch["number"] = torch.from_numpy(rng.integers(0, 10, size=len(idx)))
            batch["sum"] = batch["y"] + batch["number"]
        yield batch


def forward(model, task: str, batch: dict, device: str):
    x = normalize(batch["x"].to(device, non_blocking=True))
    if task == "sum":
        return model(x, batch["number"].to(device))
    return model(x)


def loss_fn(task: str, head: str, out, batch: dict, device: str) -> torch.Tensor:
    if task == "sum":
        digit_logits, sum_logits = out
        return (F.cross_entropy(digit_logits.float(), batch["y"].to(device))
                + F.cross_entropy(sum_logits.float(), batch["sum"].to(device)))
    if head == "pairs":
        return F.cross_entropy(out.float(), batch["set"].to(device))
    if head == "sigmoid":
        return F.binary_cross_entropy_with_logits(out.float(), batch["hot"].to(device))
    return F.cross_entropy(out.float(), batch["y"].to(device))


def main_logits(task: str, out) -> torch.Tensor:
    """The logits temperature scaling is fitted on (for sum: the digit head, the sum head is derived)."""
    return out[0] if task == "sum" else out


def targets_for_temperature(task: str, head: str, batch: dict) -> torch.Tensor:
    if task == "overlap":
        return batch["set"] if head == "pairs" else batch["hot"]
    return batch["y"]
