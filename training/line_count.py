"""How well the number reader tells one line of writing from several (`app.ml.numbers.count_lines`):
single lines wrongly refused as several, and uploads of 2-3 lines refused (as `several_lines`, or as
holding no ink that stands out) instead of read as one line.

    python -m training.line_count          # ~3 min on 2 cores; prints the figures the README quotes

Single lines: the number card's validation lines (MNIST validation digits, 2-7 and 1-20 digits), its
fixed test lines, and 1,500 lines from the line model's broader training generator
(`training.line_data.compose`: jitter, mixed sizes, specks, turned up to 6 degrees). Several lines:
2-3 lines of 1-7 MNIST test digits, 0.3-1 line heights apart, from three generators: phone photos
on plain, ruled and squared paper (`support.images.notebook_photo`), the test strings' renderer and
the training lines' renderer, each as canvas PNGs and photo JPEGs.
"""

import argparse

import numpy as np

from app.ml.numbers import count_lines, line_ink
from app.ml.preprocess import InputError
from training import data
from training.line_data import compose as training_line
from training.number_card import VAL_SEED
from training.strings import as_canvas, as_photo, compose, fixed_strings, make_strings

MAX_PIXELS = 40_000_000


def lines_in(upload: bytes) -> int:
    """The lines the reader counts in an upload; 0 when it finds no ink that stands out."""
    try:
        return count_lines(line_ink(upload, MAX_PIXELS)[1])
    except InputError:
        return 0


def stacked(rows: list[np.ndarray], gap: float, rng: np.random.Generator) -> np.ndarray:
    """Lines of ink one under the other, `gap` of the tallest line's height apart, each indented at random."""
    width, height = max(r.shape[1] for r in rows), max(r.shape[0] for r in rows)
    out = np.zeros((len(rows) * height + (len(rows) - 1) * int(gap * height), width), np.float32)
    for i, r in enumerate(rows):
        y, x = i * (height + int(gap * height)), int(rng.integers(0, width - r.shape[1] + 1))
        out[y:y + r.shape[0], x:x + r.shape[1]] = np.maximum(out[y:y + r.shape[0], x:x + r.shape[1]], r)
    return out


def several_lines(images: np.ndarray, generator: str, n: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)

    def digits(k: int) -> list[np.ndarray]:
        return [images[j] for j in rng.integers(0, len(images), k)]

    out = []
    for i in range(n):
        count, gap = int(rng.integers(2, 4)), float(rng.uniform(0.3, 1.0))
        if generator == "notebook photo":
            from support.images import notebook_photo

            rows = [np.hstack(digits(int(rng.integers(1, 6)))).astype(np.float32) / 255 for _ in range(count)]
            page = (stacked(rows, gap, rng) * 255).astype(np.uint8)
            out.append(notebook_photo(page, ("plain", "ruled", "squared")[i % 3], tilt=float(rng.uniform(-4, 4)),
                                      seed=i, size=(1800, 1400)))
            continue
        if generator == "test strings' renderer":
            rows = [compose(digits(int(rng.integers(1, 8))), rng, bool(rng.random() < 0.25)) for _ in range(count)]
        else:
            rows = [training_line(digits(int(rng.integers(1, 8))), rng) for _ in range(count)]
        ink = stacked(rows, gap, rng)
        out.append(as_canvas(ink, rng) if i % 2 else as_photo(ink, rng))
    return out


def single_lines(mnist, n_train_lines: int) -> dict[str, list[bytes]]:
    _, val_idx = data.split_indices(len(mnist.train_x), 5000, 0)
    val = mnist.train_x[val_idx], mnist.train_y[val_idx]
    rng = np.random.default_rng(5)
    train_lines = []
    for i in range(n_train_lines):
        ink = training_line([val[0][j] for j in rng.integers(0, len(val[0]), int(rng.integers(1, 21)))], rng)
        train_lines.append(as_canvas(ink, rng) if i % 2 else as_photo(ink, rng))
    return {"validation lines, 2-7 digits": [s.data for s in make_strings(*val, list(range(2, 8)), 1500, VAL_SEED)],
            "validation lines, 1-20 digits": [s.data for s in make_strings(*val, list(range(1, 21)), 600, VAL_SEED + 1)],
            "test lines (fixed_strings)": [s.data for s in fixed_strings(mnist.test_x, mnist.test_y, 1000)],
            "training generator's lines": train_lines}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--n", type=int, default=200, help="uploads of several lines per generator")
    p.add_argument("--n-train-lines", type=int, default=1500, help="single lines from the training generator")
    args = p.parse_args(argv)
    mnist = data.load_mnist()
    print("single lines counted as several:")
    for name, uploads in single_lines(mnist, args.n_train_lines).items():
        counts = np.array([lines_in(u) for u in uploads])
        print(f"  {name}: {int((counts > 1).sum())} of {len(counts)}")
    print("uploads of 2-3 lines: refused as several lines / as no ink / read as one line")
    for seed, generator in enumerate(("notebook photo", "test strings' renderer", "training lines' renderer")):
        counts = np.array([lines_in(u) for u in several_lines(mnist.test_x, generator, args.n, 2026 + seed)])
        print(f"  {generator}: {int((counts > 1).sum())} / {int((counts == 0).sum())} / {int((counts == 1).sum())}"
              f" of {len(counts)}")


if __name__ == "__main__":
    main()
