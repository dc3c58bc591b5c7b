"""Training and validation lines for the line model, rendered from MNIST training-split digits and
passed through the service's own line preprocessing (`app.ml.numbers.line_strip`).

Deliberately broader than the test strings' generator (`training.strings`), so that the model is not
fitted to one renderer: 1-20 digits (mostly 2-9), line heights 24-120 px, each digit scaled 0.7-1.25x,
turned up to 8 degrees and sheared, gaps from a quarter-digit overlap to a whole digit apart, digits
on a baseline or centred with vertical jitter, fat and thin pens, specks of dirt, the line turned up
to 6 degrees; drawn as a canvas PNG (three polarities) or photographed on paper (JPEG).

Cached in `data/lines-v<VERSION>-<split>-<n>-<seed>-<digits fingerprint>.npz` (strips concatenated along their width).
"""

import hashlib
import logging
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from app.ml.lines import LINE_HEIGHT
from training.strings import as_canvas, as_photo, digit_ink

log = logging.getLogger("line_data")
VERSION = 1
MAX_PIXELS = 40_000_000
LENGTHS = np.array([1] + list(range(2, 10)) + list(range(10, 21)))
LENGTH_WEIGHTS = np.array([0.04] + [0.09] * 8 + [0.24 / 11] * 11)


def turned_digit(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One MNIST digit turned and sheared a little (uint8 28x28)."""
    img = Image.fromarray(digit)
    shear = rng.uniform(-0.25, 0.25)
    img = img.transform(img.size, Image.AFFINE, (1, shear, -shear * 14, 0, 1, 0), resample=Image.BILINEAR)
    return np.asarray(img.rotate(rng.uniform(-8, 8), resample=Image.BILINEAR))


def pen(ink: np.ndarray, rng: np.random.Generator, height: int) -> np.ndarray:
    """Most lines as drawn; some with a fatter pen, some with a thinner one."""
    kind = rng.random()
    if kind < 0.22:
        size = int(rng.integers(2, max(3, height // 10) + 1))
        return ndimage.grey_dilation(ink, size=(size, size))
    if kind < 0.34:
        return np.clip((ink - 0.45) / 0.3, 0, 1)
    return ink


def specks(canvas: np.ndarray, rng: np.random.Generator, height: int) -> None:
    """A few dots of dirt, well below a digit's size."""
    for _ in range(int(rng.integers(1, 4))):
        r = max(1, int(height * rng.uniform(0.02, 0.06)))
        y, x = int(rng.integers(r, canvas.shape[0] - r)), int(rng.integers(r, canvas.shape[1] - r))
        canvas[y - r:y + r, x - r:x + r] = np.maximum(canvas[y - r:y + r, x - r:x + r], rng.uniform(0.5, 1))


def compose(digits: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """The digits side by side, white ink on black in [0, 1]."""
    height = int(rng.integers(24, 121))
    inks = [digit_ink(turned_digit(d, rng), max(8, int(height * 1.4 * rng.uniform(0.7, 1.25)))) for d in digits]
    touching = rng.random() < 0.35
    gaps = [(rng.uniform(-0.25, 0.0) if touching and rng.random() < 0.65 else rng.uniform(0.03, 1.0)) * height
            for _ in inks]
    centred = rng.random() < 0.3
    margin = int(height * rng.uniform(0.2, 1.0)) + 4
    tallest = max(i.shape[0] for i in inks)
    jitter = int(0.1 * height)
    width = int(sum(i.shape[1] for i in inks) + sum(max(0, g) for g in gaps) + 2 * margin)
    canvas = np.zeros((tallest + 2 * margin + 2 * jitter, width), np.float32)
    x = margin
    for i, (ink, gap) in enumerate(zip(inks, gaps)):
        if i:
            x = max(0, int(x + gap))
        offset = (tallest - ink.shape[0]) // 2 if centred else tallest - ink.shape[0]
        y = margin + jitter + offset + int(rng.integers(-jitter, jitter + 1))
        h, w = ink.shape
        region = canvas[y:y + h, x:x + w]
        region[...] = np.maximum(region, ink[:region.shape[0], :region.shape[1]])
        x += w
    canvas = pen(canvas[:, :max(x + margin, 1)], rng, height)
    if rng.random() < 0.2:
        specks(canvas, rng, height)
    angle = rng.uniform(-6, 6)
    return np.asarray(Image.fromarray(canvas, "F").rotate(angle, resample=Image.BILINEAR, expand=True), np.float32)


def sample(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str] | None:
    """One rendered line as the line model sees it (uint8 strip) and its digits; None if unreadable."""
    from app.ml.numbers import line_strip
    from app.ml.preprocess import InputError

    k = int(rng.choice(LENGTHS, p=LENGTH_WEIGHTS / LENGTH_WEIGHTS.sum()))
    idx = rng.integers(0, len(images), k)
    ink = compose([images[j] for j in idx], rng)
    data = as_canvas(ink, rng) if rng.random() < 0.5 else as_photo(ink, rng)
    try:
        strip = line_strip(data, MAX_PIXELS)
    except InputError:
        return None
    if strip is None:
        return None
    return np.round(strip.image * 255).astype(np.uint8), "".join(str(int(labels[j])) for j in idx)


def _chunk(job) -> list[tuple[np.ndarray, str]]:
    images, labels, n, seed = job
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        s = sample(images, labels, rng)
        if s is not None:
            out.append(s)
    return out


def pack(samples: list[tuple[np.ndarray, str]]) -> dict:
    widths = np.array([s[0].shape[1] for s in samples])
    return {"strips": np.concatenate([s[0] for s in samples], axis=1), "widths": widths,
            "texts": np.array([s[1] for s in samples])}


def unpack(packed) -> list[tuple[np.ndarray, str]]:
    ends = np.cumsum(packed["widths"])
    strips = np.split(packed["strips"], ends[:-1], axis=1)
    return list(zip(strips, [str(t) for t in packed["texts"]]))


def lines(images: np.ndarray, labels: np.ndarray, n: int, seed: int, data_dir: Path, name: str,
          workers: int = 2) -> list[tuple[np.ndarray, str]]:
    """n rendered lines of these digits, made once and cached (the file is named by what makes the
    lines: the generator's version, n, the seed and a fingerprint of the digits themselves, so another
    validation split or digit set never reuses lines rendered from other digits)."""
    digits = hashlib.sha256(np.ascontiguousarray(images).tobytes() + np.asarray(labels, np.int64).tobytes()).hexdigest()
    path = Path(data_dir) / f"lines-v{VERSION}-{name}-{n}-{seed}-{digits[:10]}.npz"
    if path.exists():
        return unpack(np.load(path))
    chunks = max(1, min(64, n // 250))
    jobs = [(images, labels, n // chunks + (c < n % chunks), seed * 1000 + c) for c in range(chunks)]
    with Pool(workers) as pool:
        samples = [s for part in pool.imap(_chunk, jobs) for s in part]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **pack(samples))
    log.info("wrote %s: %d lines", path, len(samples))
    assert all(s[0].shape[0] == LINE_HEIGHT for s in samples)
    return samples
