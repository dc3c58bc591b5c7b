"""Lines of handwritten digits rendered from MNIST digits, as people upload them: a canvas drawing
(PNG) or a phone photo of ink on paper (JPEG); mixed sizes, any spacing including touching and
slightly overlapping neighbours, a slight slant, dark on light or light on dark.

Validation strings (for calibrating the number confidence) come from MNIST training digits; the
fixed test strings (`fixed_strings`) from MNIST test digits only.

    python -m training.strings --out /tmp/lines --n 20     # write a few as files to look at
"""

import argparse
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

STYLES = ("canvas", "photo")
TEST_SEED = 20261124


@dataclass
class LineSample:
    data: bytes
    text: str  # the digits, left to right
    style: str
    touching: bool  # some neighbours touch or overlap


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def digit_ink(digit: np.ndarray, size: int) -> np.ndarray:
    """The MNIST digit scaled to `size` px, cropped to its ink, in [0, 1]."""
    ink = np.asarray(Image.fromarray(digit).resize((size, size), Image.BICUBIC), np.float32) / 255
    rows, cols = np.flatnonzero((ink > 0.1).any(1)), np.flatnonzero((ink > 0.1).any(0))
    return np.clip(ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], 0, 1)


def compose(digits: list[np.ndarray], rng: np.random.Generator, touching: bool) -> np.ndarray:
    """Digits side by side on one baseline (ink in [0, 1], white on black, with a margin)."""
    height = int(rng.integers(40, 100))
    inks = [digit_ink(d, int(height * 28 / 20 * rng.uniform(0.85, 1.15))) for d in digits]
    gaps = [(rng.uniform(-0.18, 0.0) if touching and rng.random() < 0.6 else rng.uniform(0.08, 0.6)) * height
            for _ in inks]
    margin = int(height * rng.uniform(0.3, 1.0))
    width = int(sum(i.shape[1] for i in inks) + sum(max(0, g) for g in gaps) + 2 * margin)
    tallest = max(i.shape[0] for i in inks)
    canvas = np.zeros((tallest + 2 * margin + 10, width), np.float32)
    x = margin
    for i, (ink, gap) in enumerate(zip(inks, gaps)):
        if i:
            x = int(x + gap)
        y = margin + (tallest - ink.shape[0]) + int(rng.integers(-3, 4))
        h, w = ink.shape
        region = canvas[y:y + h, x:x + w]
        region[...] = np.maximum(region, ink[:region.shape[0], :region.shape[1]])
        x += w
    canvas = canvas[:, :max(x + margin, 1)]
    angle = rng.uniform(-5, 5)
    return np.asarray(Image.fromarray(canvas, "F").rotate(angle, resample=Image.BILINEAR, expand=True), np.float32)


def as_canvas(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """A drawing app's PNG: white on black, black on white, or black strokes on transparency."""
    ink8 = (np.clip(ink, 0, 1) * 255).astype(np.uint8)
    kind = int(rng.integers(3))
    if kind == 0:
        return encode(Image.fromarray(ink8), "PNG")
    if kind == 1:
        return encode(Image.fromarray(255 - ink8), "PNG")
    alpha = Image.fromarray(ink8)
    return encode(Image.merge("RGBA", [Image.new("L", alpha.size, 0)] * 3 + [alpha]), "PNG")


def as_photo(ink: np.ndarray, rng: np.random.Generator) -> bytes:
    """A phone photo: dark ink on unevenly lit, textured paper, blurred a little, JPEG."""
    h, w = ink.shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    paper = rng.uniform(0.72, 0.92) + rng.uniform(-0.1, 0.1) * xx + rng.uniform(-0.1, 0.1) * yy
    paper = paper + rng.normal(0, rng.uniform(0.01, 0.03), (h, w))
    gray = paper * (1 - ink) + rng.uniform(0.05, 0.3) * ink
    rgb = np.clip(gray[..., None] * rng.uniform(0.9, 1.05, 3), 0, 1)
    img = Image.fromarray((rgb * 255).astype(np.uint8), "RGB").filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    return encode(img, "JPEG", quality=int(rng.integers(65, 92)))


def render(digits: list[np.ndarray], labels: list[int], rng: np.random.Generator, style: str,
           touching: bool) -> LineSample:
    ink = compose(digits, rng, touching)
    data = as_canvas(ink, rng) if style == "canvas" else as_photo(ink, rng)
    return LineSample(data, "".join(map(str, labels)), style, touching)


def make_strings(images: np.ndarray, labels: np.ndarray, lengths, n: int, seed: int,
                 touching_share: float = 0.25) -> list[LineSample]:
    """n lines: lengths drawn from `lengths`, half canvas and half photo, a share with touching digits."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        k = int(rng.choice(lengths))
        idx = rng.integers(0, len(images), k)
        out.append(render([images[j] for j in idx], [int(labels[j]) for j in idx], rng, STYLES[i % 2],
                          rng.random() < touching_share))
    return out


def fixed_strings(images: np.ndarray, labels: np.ndarray, n: int = 1000, lengths=range(2, 8)) -> list[LineSample]:
    """The fixed test set (from MNIST test digits): 2-7 digits, a quarter touching, half photos."""
    return make_strings(images, labels, list(lengths), n, TEST_SEED)


def main() -> None:
    from training.data import load_mnist

    p = argparse.ArgumentParser(description="Write rendered lines of MNIST test digits as files.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--n", type=int, default=20)
    args = p.parse_args()
    mnist = load_mnist()
    args.out.mkdir(parents=True, exist_ok=True)
    for i, s in enumerate(fixed_strings(mnist.test_x, mnist.test_y, args.n)):
        (args.out / f"{i:03d}-{s.text}-{s.style}{'-touching' if s.touching else ''}."
         f"{'png' if s.style == 'canvas' else 'jpg'}").write_bytes(s.data)


if __name__ == "__main__":
    main()
