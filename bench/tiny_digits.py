"""Digits drawn only 8-18 px tall (a small canvas, a thumbnail, a digit written small on a small image)
through POST /predict: the share read right, by generator; and letters and scribbles drawn as small: the
share refused.

    python -m bench.tiny_digits [--n 500] [--n-nondigits 200]   # ~3 min on 2 cores

Each upload is a canvas 1.3x the digit's height to 300 px wide (transparent, white or black, in turn)
holding one digit 8-18 px tall with a pen 2-16% of its height. Four generators: MNIST test digits redrawn
along their skeleton with a round pen and thinned another way with a stylus's drifting width
(`training.heldout`'s two pen generators), the held-out stroke templates, and MNIST test digits only
resized (antialiased), as a photo's small digit is. The non-digits are `training.heldout`'s letters
and scribbles, drawn at full size and resized as small.
"""

import numpy as np
from PIL import Image

from bench.inprocess import counts, service
from training import heldout
from training.data import load_mnist

HEIGHTS = (8.0, 18.0)  # the digit's height in px


def ink_box(mask: Image.Image) -> Image.Image:
    a = np.asarray(mask)
    ys, xs = np.nonzero(a > 60)
    return mask.crop((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))


def placed(small: Image.Image, side: int, rng) -> Image.Image:
    canvas = Image.new("L", (side, side), 0)
    canvas.paste(small, (int(rng.integers(0, side - small.width + 1)), int(rng.integers(0, side - small.height + 1))))
    return canvas


def resized(mask: Image.Image, height: float) -> Image.Image:
    """`mask`'s ink, its longer side scaled to `height` px (antialiased)."""
    box = ink_box(mask)
    s = height / max(box.size)
    return box.resize((max(1, round(box.width * s)), max(1, round(box.height * s))), Image.LANCZOS)


def generators(mnist) -> dict:
    """name -> draw(rng, height, pen, side) -> (ink mask, digit or None)."""
    def mnist_digit(rng):
        j = int(rng.integers(len(mnist.test_x)))
        return mnist.test_x[j], int(mnist.test_y[j])

    def skeleton(rng, height, pen, side):
        x, y = mnist_digit(rng)
        return heldout.skeleton_digit(x, rng, height, pen, side), y

    def stylus(rng, height, pen, side):
        x, y = mnist_digit(rng)
        return heldout.pressure_digit(x, rng, height, pen, side), y

    def template(rng, height, pen, side):
        d = int(rng.integers(10))
        return heldout.template_digit(d, rng, height, pen, side), d

    def photo_sized(rng, height, pen, side):
        x, y = mnist_digit(rng)
        box = ink_box(Image.fromarray(x))
        small = box.resize((max(1, round(box.width * height / box.height)), max(1, round(height))), Image.LANCZOS)
        return placed(small, side, rng), y

    def small(make):
        return lambda rng, height, pen, side: (placed(resized(make(rng), height), side, rng), None)

    return {"MNIST redrawn along its skeleton": skeleton, "MNIST redrawn, stylus": stylus,
            "stroke templates": template, "MNIST resized (a photo's small digit)": photo_sized,
            "letter (not a digit)": small(heldout.letter), "scribble (not a digit)": small(heldout.scribble)}


def uploads(draw, n: int, seed: int) -> list[tuple[bytes, int | None]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        height = float(rng.uniform(*HEIGHTS))
        side = int(rng.integers(max(40, int(height * 1.3)), 300))
        mask, digit = draw(rng, height, float(rng.uniform(0.02, 0.16)) * height, side)
        out.append((heldout.on_canvas(mask, heldout.CANVASES[i % 3]), digit))
    return out


def share(client, samples: list[tuple[bytes, int | None]]) -> float:
    """Digits: the share answered right. Non-digits (digit None): the share refused (422)."""
    good = 0
    for data, digit in samples:
        r = client.post("/predict", files={"file": ("x.png", data, "image/png")})
        good += r.status_code == 422 if digit is None else (r.status_code == 200 and r.json()["digit"] == digit)
    return good / len(samples)


def table(client, mnist, n: int, n_nondigits: int) -> dict[str, float]:
    rows = {}
    for k, (name, draw) in enumerate(generators(mnist).items()):
        samples = uploads(draw, n_nondigits if "not a digit" in name else n, seed=11 + k)
        rows[name] = share(client, samples)
        what = "refused" if "not a digit" in name else "right"
        print(f"{name:40s} n={len(samples):4d} {what} {100 * rows[name]:5.1f}%", flush=True)
    return rows


def main(argv=None) -> None:
    args = counts(__doc__, {"--n": (500, "digits per generator"), "--n-nondigits": (200, "letters, and scribbles")}, argv)
    with service() as client:
        table(client, load_mnist(), args.n, args.n_nondigits)


if __name__ == "__main__":
    main()
