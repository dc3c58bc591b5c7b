"""Small digits drawn on the page's canvas with its fat pen, through POST /predict: sent as drawn (the
canvas's 20-px pen) against redrawn along the same strokes with `app.web.pages.upload_pen`, as the page
now uploads a drawing. Accuracy (a 422 counts as wrong) by the digit's share of the 280-px canvas; and
the same for Number mode: lines of 3-5 digits on its 840x280 canvas through POST /predict/number
(the whole number right), by the line's height. And Overlap mode: two digits drawn over each other,
through POST /predict/overlap (the set right), sent as one pen's ink (the page before 2026-12-07)
against the two averaged pixel-wise (drawn one after the other, as the page now sends them).

    python -m bench.page_pen [--n 600] [--lines 200] [--pairs 300]      # ~50 s on 2 cores

The strokes are what a person draws: MNIST test digits' skeletons (`training.heldout.skeleton_digit`,
stamped with a round pen) and the held-out stroke templates (`training.heldout.template_digit`), placed
at random on the canvas, 10-40% of its side tall. The redrawn pen is computed from the strokes' own
extent (their larger side, as app.js measures the points it recorded), drawn once with a 1-px pen.
"""

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from app.web.pages import CANVAS_PEN, upload_pen
from bench.inprocess import service
from training.data import load_mnist
from training.heldout import TEMPLATES, bezier, draw_lines, on_canvas, skeleton_digit, template_digit

SIDE = 280  # the page's canvas
WIDE = 840  # its width in Number mode
SIZES = ((0.1, 0.2), (0.2, 0.3), (0.3, 0.4))
LINE_HEIGHTS = ((30, 60), (60, 100))


def spans(mask: Image.Image) -> tuple[int, int]:
    """(height, width) of a 1-px-pen drawing's ink box: the spans of the stroke points, as app.js measures them."""
    ink = np.asarray(mask) > 0
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    return int(rows[-1] - rows[0]), int(cols[-1] - cols[0])


def extent(mask: Image.Image) -> int:
    """The larger side of a 1-px-pen drawing's ink box (the page's pen for one digit follows it)."""
    return max(spans(mask))


def drawings(mnist, n: int, seed: int):
    """n (draw(pen) -> ink mask, digit, size, source): half MNIST skeletons, half stroke templates.
    Each draw places its strokes the same way whatever the pen."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        size = float(rng.uniform(0.1, 0.4))
        at, height = int(rng.integers(1 << 30)), size * SIDE
        if i % 2 == 0:
            j = int(rng.integers(len(mnist.test_x)))

            def draw(pen, image=mnist.test_x[j], at=at, height=height):
                return skeleton_digit(image, np.random.default_rng(at), height, pen, SIDE)

            yield draw, int(mnist.test_y[j]), size, "mnist"
        else:
            digit = int(rng.integers(10))

            def draw(pen, digit=digit, at=at, height=height):
                return template_digit(digit, np.random.default_rng(at), height, pen, SIDE)

            yield draw, digit, size, "template"


def number_lines(n: int, seed: int):
    """n (draw(pen) -> ink mask on the wide canvas, the number, its height): 3-5 stroke-template digits
    side by side, 30-100 px tall, each digit's points jittered as `template_digit` jitters them."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        digits = rng.integers(0, 10, int(rng.integers(3, 6)))
        height = float(rng.uniform(30, 100))
        step = 0.75 * height
        x0, y0 = rng.uniform(10, WIDE - step * len(digits) - 10), rng.uniform(10, SIDE - height - 10)
        lines = []
        for k, d in enumerate(digits):
            for stroke in TEMPLATES[int(d)]:
                pts = np.asarray(stroke) + rng.normal(0, 0.02, (len(stroke), 2))
                lines.append(bezier(np.stack([x0 + k * step + pts[:, 0] * 0.6 * height, y0 + pts[:, 1] * height], 1), 120))

        def draw(pen, lines=lines):
            return draw_lines(Image.new("L", (WIDE, SIDE), 0), lines, pen)

        yield draw, "".join(map(str, digits)), height


def centred(mask: Image.Image, cx: float, cy: float) -> np.ndarray:
    """The ink of a drawing moved so that its ink box's centre is at (cx, cy), in [0, 1]."""
    ink = np.asarray(mask, np.float32) / 255
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    dy, dx = round(cy - (rows[0] + rows[-1]) / 2), round(cx - (cols[0] + cols[-1]) / 2)
    return np.roll(ink, (dy, dx), (0, 1))


def overlap_pairs(mnist, n: int, seed: int):
    """n (draw(pen) -> the two digits' ink, each in [0, 1], the set of digits): two digits drawn over each
    other, centred on one point, 40-80% of the canvas tall; half MNIST skeleton pairs, half stroke templates."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        height = float(rng.uniform(0.4, 0.8)) * SIDE
        at, (cx, cy) = int(rng.integers(1 << 30)), rng.uniform(0.45, 0.55, 2) * SIDE
        if i % 2 == 0:
            j, k = rng.integers(len(mnist.test_x), size=2)
            digits = (int(mnist.test_y[j]), int(mnist.test_y[k]))

            def draw(pen, images=(mnist.test_x[j], mnist.test_x[k]), at=at, height=height, c=(cx, cy)):
                return [centred(skeleton_digit(img, np.random.default_rng(at), height, pen, SIDE), *c) for img in images]
        else:
            digits = tuple(int(d) for d in rng.integers(10, size=2))

            def draw(pen, digits=digits, at=at, height=height, c=(cx, cy)):
                return [centred(template_digit(d, np.random.default_rng(at), height, pen, SIDE), *c) for d in digits]
        yield draw, sorted(set(digits)), "mnist" if i % 2 == 0 else "template"


def read_pair(client, ink: np.ndarray, digits: list[int]) -> bool:
    mask = Image.fromarray(np.round(ink * 255).astype(np.uint8))
    r = client.post("/predict/overlap", files={"file": ("drawing.png", on_canvas(mask, "black"), "image/png")})
    return r.status_code == 200 and r.json()["digits"] == digits


def measure_pairs(client, mnist, n: int, seed: int) -> list[dict]:
    """Each pair redrawn with the page's pen for the two digits' extent, sent both ways."""
    rows = []
    for draw, digits, source in overlap_pairs(mnist, n, seed):
        pen = upload_pen(extent(Image.fromarray((np.maximum(*draw(1)) * 255).astype(np.uint8))))
        first, second = draw(pen)
        rows.append({"source": source, "pen": pen, "as_drawn": read_pair(client, np.maximum(first, second), digits),
                     "redrawn": read_pair(client, (first + second) / 2, digits)})
    return rows


def right(client, mask: Image.Image, digit: int) -> bool:
    r = client.post("/predict", files={"file": ("drawing.png", on_canvas(mask, "black"), "image/png")})
    return r.status_code == 200 and r.json()["digit"] == digit


def measure(client, mnist, n: int, seed: int) -> list[dict]:
    rows = []
    for draw, digit, size, source in drawings(mnist, n, seed):
        pen = upload_pen(extent(draw(1)))
        rows.append({"size": size, "source": source, "pen": pen,
                     "as_drawn": right(client, draw(CANVAS_PEN), digit), "redrawn": right(client, draw(pen), digit)})
    return rows


def read(client, mask: Image.Image, number: str) -> bool:
    r = client.post("/predict/number", files={"file": ("drawing.png", on_canvas(mask, "black"), "image/png")})
    return r.status_code == 200 and r.json()["number"] == number


def measure_lines(client, n: int, seed: int) -> list[dict]:
    """Number mode: the page's pen there follows the line's height (`upload_pen` of the strokes' height)."""
    rows = []
    for draw, number, height in number_lines(n, seed):
        pen = upload_pen(spans(draw(1))[0])
        rows.append({"height": height, "pen": pen, "as_drawn": read(client, draw(CANVAS_PEN), number),
                     "redrawn": read(client, draw(pen), number)})
    return rows


def summary(groups: dict[str, list[dict]]) -> dict:
    """Per non-empty group of rows: its size and its share read right as drawn and redrawn."""
    return {name: {"n": len(g), "as_drawn": float(np.mean([r["as_drawn"] for r in g])),
                   "redrawn": float(np.mean([r["redrawn"] for r in g]))} for name, g in groups.items() if g}


def line_table(rows: list[dict]) -> dict:
    return summary({f"{lo}-{hi} px": [r for r in rows if lo <= r["height"] < hi] for lo, hi in LINE_HEIGHTS}
                   | {"all": rows})


def table(rows: list[dict]) -> dict:
    return summary({f"{lo:.1f}-{hi:.1f}": [r for r in rows if lo <= r["size"] < hi] for lo, hi in SIZES}
                   | {source: [r for r in rows if r["source"] == source] for source in ("mnist", "template")}
                   | {"all": rows})


def pair_table(rows: list[dict]) -> dict:
    return summary({source: [r for r in rows if r["source"] == source] for source in ("mnist", "template")} | {"all": rows})


def print_table(title: str, result: dict, columns: tuple[str, str] = (f"canvas pen ({CANVAS_PEN} px), as drawn",
                                                                        "redrawn (upload_pen)")) -> None:
    print(f"| {title} | n | {columns[0]} | {columns[1]} |")
    print("|---|---|---|---|")
    for name, r in result.items():
        print(f"| {name} | {r['n']} | {100 * r['as_drawn']:.1f}% | {100 * r['redrawn']:.1f}% |")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--n", type=int, default=600, help="single-digit drawings")
    p.add_argument("--lines", type=int, default=200, help="Number-mode lines")
    p.add_argument("--pairs", type=int, default=300, help="Overlap-mode pairs")
    p.add_argument("--seed", type=int, default=123)
    p.add_argument("--out", type=Path, default=Path("reports/page_pen.json"))
    args = p.parse_args(argv)
    mnist = load_mnist()
    with service() as client:
        digits = table(measure(client, mnist, args.n, args.seed))
        lines = line_table(measure_lines(client, args.lines, args.seed))
        pairs = pair_table(measure_pairs(client, mnist, args.pairs, args.seed))
    print_table("digit's share of the canvas", digits)
    print()
    print_table("Number mode, line height", lines)
    print()
    print_table("Overlap mode, two digits over each other", pairs,
                ("one pen's ink (the page before)", "averaged (the page now, upload_pen)"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"n": args.n, "lines": args.lines, "pairs": args.pairs, "seed": args.seed,
                                    "canvas_pen": CANVAS_PEN, "by": digits, "number_lines": lines,
                                    "overlap_pairs": pairs}, indent=2) + "\n")


if __name__ == "__main__":
    main()
