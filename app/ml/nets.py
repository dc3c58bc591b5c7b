"""Network architectures and the registry that builds them by name.

Training and serving both build models through `build_model(task, arch, **kwargs)`; a checkpoint stores
the same three values, so loading one needs nothing but this module.
"""

import torch
from torch import nn

from app.ml.constants import DIGIT_SETS, GATE_CLASSES, IMAGE_SIZE

N_DIGITS = 10
N_SUMS = 19


def conv_bn(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class ConvNet(nn.Module):
    """A small VGG-style CNN: one conv at 28x28, two at 14x14, two at 7x7, global average pool.

    The expensive second conv at full resolution is left out on purpose: it buys little accuracy
    on MNIST for a third of the FLOPs, and serving throughput is bounded by FLOPs per image.
    """

    def __init__(self, out_features: int = N_DIGITS, channels: tuple = (32, 48, 96), dropout: float = 0.1,
                 tta_shifts: list | None = None):
        super().__init__()
        self.tta_shifts = [tuple(s) for s in tta_shifts] if tta_shifts else None
        c1, c2, c3 = channels
        self.features = nn.Sequential(
            conv_bn(1, c1), nn.MaxPool2d(2),
            conv_bn(c1, c2), conv_bn(c2, c2), nn.MaxPool2d(2),
            conv_bn(c2, c3), conv_bn(c3, c3),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(c3, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.tta_shifts and not self.training:
            return self.forward_tta(x)
        return self.head(self.features(x))

    def forward_tta(self, x: torch.Tensor) -> torch.Tensor:
        """Test-time augmentation: logits averaged over copies shifted by (dy, dx) pixels, in one pass.

        Shifted-in pixels take each image's own background value (its top-left pixel), so an
        image's answer never depends on the other images in its batch."""
        background = x[:, :, :1, :1]
        copies = [shift(x, dy, dx, background) for dy, dx in self.tta_shifts]
        logits = self.head(self.features(torch.cat(copies)))
        return logits.view(len(copies), x.shape[0], -1).mean(0)


def shift(x: torch.Tensor, dy: int, dx: int, fill: torch.Tensor) -> torch.Tensor:
    """Translate a batch of images by whole pixels, filling the uncovered border with `fill`."""
    if dy == 0 and dx == 0:
        return x
    out = fill.expand_as(x).clone()
    h, w = x.shape[-2:]
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[..., yd, xd] = x[..., ys, xs]
    return out


class LineNet(nn.Module):
    """Reads a line of digits (a strip LINE_HEIGHT px tall, any width) into per-frame logits of the ten
    digits and the CTC blank (N, T, 11), one frame per FRAME columns.

    Its convolutions are the digit ConvNet's up to the 7-row feature map (same names and shapes, so
    they start from a trained digit model); the 7 rows are folded into one feature vector per frame,
    and a bidirectional LSTM lets each frame see its neighbours (where one digit ends, the next starts)."""

    def __init__(self, channels: tuple = (32, 48, 96), frame_features: int = 128, hidden: int = 96,
                 dropout: float = 0.1):
        super().__init__()
        c1, c2, c3 = channels
        self.features = nn.Sequential(
            conv_bn(1, c1), nn.MaxPool2d(2),
            conv_bn(c1, c2), conv_bn(c2, c2), nn.MaxPool2d(2),
            conv_bn(c2, c3), conv_bn(c3, c3),
        )
        self.fold = nn.Sequential(nn.Conv2d(c3, frame_features, (IMAGE_SIZE // 4, 1)), nn.ReLU(inplace=True))
        self.rnn = nn.LSTM(frame_features, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden, N_DIGITS + 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = self.fold(self.features(x)).squeeze(2).transpose(1, 2)  # (N, T, C)
        return self.head(self.rnn(frames)[0])


class MLP(nn.Module):
    """The seeds' baseline: flattened pixels (plus optional extra inputs), three hidden layers."""

    def __init__(self, out_features: int = N_DIGITS, hidden: tuple = (512, 256, 128), extra_in: int = 0,
                 dropout: float = 0.2):
        super().__init__()
        layers, width = [], IMAGE_SIZE * IMAGE_SIZE + extra_in
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, out_features)
        self.width = width

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        x = x.flatten(1)
        if extra is not None:
            x = torch.cat([x, extra], dim=1)
        return self.head(self.body(x))


def shift_to_sums(digit_logits: torch.Tensor, number: torch.Tensor) -> torch.Tensor:
    """Sum logits for digit + number: the digit logits placed at offset `number` in 19 slots.

    Sums that cannot occur for this number get a large negative logit. The sum head therefore is
    exactly as accurate as the digit head: the sum is never guessed, only the digit is.
    """
    sums = digit_logits.new_full((digit_logits.shape[0], N_SUMS), -1e4)
    index = number.long().view(-1, 1) + torch.arange(N_DIGITS, device=digit_logits.device)
    return sums.scatter(1, index, digit_logits)


class SumNet(nn.Module):
    """Digit CNN plus the exact, structured sum head. Returns (digit_logits, sum_logits)."""

    def __init__(self, **convnet_kwargs):
        super().__init__()
        self.digit = ConvNet(out_features=N_DIGITS, **convnet_kwargs)

    def forward(self, x: torch.Tensor, number: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        digit_logits = self.digit(x)
        return digit_logits, shift_to_sums(digit_logits, number)


class SumMLP(nn.Module):
    """The sum seed's design: pixels and a one-hot number into one MLP with two free heads."""

    def __init__(self, **mlp_kwargs):
        super().__init__()
        self.mlp = MLP(out_features=N_DIGITS + N_SUMS, extra_in=N_DIGITS, **mlp_kwargs)

    def forward(self, x: torch.Tensor, number: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        one_hot = nn.functional.one_hot(number.long(), N_DIGITS).to(x.dtype)
        out = self.mlp(x, one_hot)
        return out[:, :N_DIGITS], out[:, N_DIGITS:]


# How each (task, arch) turns outputs into answers: "softmax" over digits, "pairs" (softmax over the
# 55 digit sets), "sigmoid" (independent per-digit probabilities), or "sum" (digit and sum softmaxes).
HEADS = {
    ("digit", "mlp"): "softmax", ("digit", "cnn"): "softmax",
    ("overlap", "mlp"): "sigmoid", ("overlap", "cnn"): "pairs", ("overlap", "cnn-sigmoid"): "sigmoid",
    ("sum", "mlp"): "sum", ("sum", "cnn"): "sum",
    ("gate", "cnn"): "softmax",
    ("line", "crnn"): "ctc",
}
# Classes per task for the single-output heads (overlap's "pairs" head: the 55 digit sets).
OUT_FEATURES = {"digit": N_DIGITS, "overlap": N_DIGITS, "gate": len(GATE_CLASSES)}

DEFAULT_KWARGS = {
    ("overlap", "cnn"): {"channels": (48, 96, 160), "dropout": 0.2},
    ("overlap", "cnn-sigmoid"): {"channels": (48, 96, 160), "dropout": 0.2},
}


def build_model(task: str, arch: str, **kwargs) -> nn.Module:
    """Build the network for a task by architecture name; kwargs override the defaults."""
    if (task, arch) not in HEADS:
        raise ValueError(f"unknown architecture {arch!r} for task {task!r}; choose from {architectures(task)}")
    kwargs = {**DEFAULT_KWARGS.get((task, arch), {}), **kwargs}
    if "channels" in kwargs:
        kwargs["channels"] = tuple(kwargs["channels"])
    if "hidden" in kwargs:
        kwargs["hidden"] = tuple(kwargs["hidden"])
    if task == "sum":
        return SumNet(**kwargs) if arch == "cnn" else SumMLP(**kwargs)
    if task == "line":
        return LineNet(**kwargs)
    out = len(DIGIT_SETS) if HEADS[(task, arch)] == "pairs" else OUT_FEATURES[task]
    return ConvNet(out_features=out, **kwargs) if arch.startswith("cnn") else MLP(out_features=out, **kwargs)


def architectures(task: str) -> list[str]:
    return [arch for (t, arch) in HEADS if t == task]


def model_kwargs(task: str, arch: str, **overrides) -> dict:
    """The full kwargs a checkpoint records, defaults included, as JSON-friendly values."""
    kwargs = {**DEFAULT_KWARGS.get((task, arch), {}), **overrides}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}


def pick_device(choice: str) -> str:
    """'auto' -> CUDA when available, else CPU; an explicit 'cuda' without CUDA is an error."""
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but CUDA is not available")
    return choice
