"""Small digits in large phone photos through POST /predict: answers right, refused, wrong, by the
digit's share of the photo's height; numbers of 3-5 digits in the same photos through POST
/predict/number; and photos of the same kinds that hold no digit.

    python -m bench.small_photos [--n 30] [--tables digits numbers nondigits]   # ~8 min on 2 cores

Two generators of 4032x3024 (12 MP) JPEGs of MNIST test digits: grainy paper photographed a little out
of focus (`support.images.phone_jpeg`, the digit anywhere in the frame) and a notebook page
(`support.images.notebook_photo`, plain, ruled and squared paper, turned up to 4 degrees, the digit
1.4-2.4 of the page's line spacing tall, i.e. 2-7% of the photo's height). The numbers are rows of
MNIST test digits side by side, from their own seeded draw (the digits' table does not move with them),
and lines of 3-5 digits drawn with a round pen (`support.drawing`) photographed on a second page
generator (`support.images.pen_page_photo`: other paper tints, line colours and spacings, lighting).
"""

import argparse
import functools

import numpy as np
from PIL import Image

from bench.inprocess import service
from support.drawing import STROKES, ink_image
from support.images import notebook_photo, pen_page_photo, phone_jpeg
from training.data import load_mnist

SIZE = (4032, 3024)
PAPERS = ("plain", "ruled", "squared")  # notebook pages, as support.images draws them


def outcome(client, data: bytes, answer, route: str = "/predict", key: str = "digit") -> str:
    r = client.post(route, files={"file": ("IMG.jpg", data, "image/jpeg")})
    if r.status_code == 200:
        return "right" if r.json()[key] == answer else "wrong"
    return r.json().get("reason") or str(r.status_code)


def number_row(mnist, rng) -> tuple[np.ndarray, str]:
    """3-5 MNIST test digits side by side (28 x 28k) and the number they write."""
    idx = rng.integers(len(mnist.test_x), size=int(rng.integers(3, 6)))
    return np.concatenate([mnist.test_x[i] for i in idx], 1), "".join(str(mnist.test_y[i]) for i in idx)


def number_table(client, mnist, n: int) -> None:
    rng = np.random.default_rng(21)
    read = functools.partial(outcome, client, route="/predict/number", key="number")
    for share in (0.03, 0.06):
        got = []
        for _ in range(n):
            row, text = number_row(mnist, rng)
            at = (float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.2, 0.8)))
            got.append(read(phone_jpeg(row, SIZE, share=share, at=at), text))
        print(f"number, grainy paper, {share:.0%} of the height: {tally(got)} (of {n})")
    for paper in PAPERS:
        got = []
        for i in range(n):
            row, text = number_row(mnist, rng)
            got.append(read(notebook_photo(row, paper, tilt=float(rng.uniform(-3, 3)), seed=i, size=SIZE), text))
        print(f"number, notebook page, {paper}: {tally(got)} (of {n})")
    for paper in PAPERS:  # the second page generator: strokes drawn with a round pen
        got = []
        for _ in range(n):
            text = "".join(rng.choice([c for c in STROKES if c.isdigit()], int(rng.integers(3, 6))))
            height = int(rng.integers(80, 160))
            pen = int(height * rng.uniform(0.06, 0.12))
            mask = Image.fromarray(ink_image(text, height=height, pen=pen, margin=10))
            got.append(read(pen_page_photo(mask, paper, rng, SIZE), text))
        print(f"number, pen page, {paper}: {tally(got)} (of {n})")


def nondigit_table(client, n: int) -> None:
    """12 MP photos that hold no digit through POST /predict: empty notebook pages, a blank grainy
    photo, and held-out letters and scribbles (`training.heldout`) written small on a notebook page."""
    from training.heldout import letter, scribble

    rng = np.random.default_rng(31)
    for paper in PAPERS:
        got = [outcome(client, notebook_photo(np.zeros((28, 28), np.uint8), paper, tilt=float(rng.uniform(-4, 4)),
                                              seed=100 + i, size=SIZE), None) for i in range(n // 3)]
        print(f"no digit, empty notebook page, {paper}: {tally(got)} (of {n // 3})")
    got = [outcome(client, phone_jpeg(np.zeros((28, 28), np.uint8), SIZE, at=(0.5, 0.5)), None)]
    print(f"no digit, blank grainy photo: {tally(got)} (of 1)")
    for name, make in (("letter", letter), ("scribble", scribble)):
        got = []
        for i in range(n):
            mark = np.asarray(make(rng).convert("L").resize((28, 28), Image.BOX))  # white on black, as a digit
            photo = notebook_photo(mark, PAPERS[i % 3], tilt=float(rng.uniform(-4, 4)), seed=200 + i, size=SIZE)
            got.append(outcome(client, photo, None))
        print(f"no digit, {name} on a notebook page: {tally(got)} (of {n})")


def tally(outcomes: list[str]) -> str:
    return ", ".join(f"{k} {outcomes.count(k)}" for k in sorted(set(outcomes), key=lambda k: k != "right"))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--n", type=int, default=30, help="photos per row of the table")
    p.add_argument("--tables", nargs="+", choices=["digits", "numbers", "nondigits"],
                   default=["digits", "numbers", "nondigits"], help="which tables to measure")
    args = p.parse_args(argv)
    mnist = load_mnist()
    with service() as client:
        if "digits" in args.tables:
            digit_table(client, mnist, args.n)
        if "numbers" in args.tables:
            number_table(client, mnist, args.n)
        if "nondigits" in args.tables:
            nondigit_table(client, args.n)


def digit_table(client, mnist, n: int) -> None:
    rng = np.random.default_rng(12)
    for share in (0.03, 0.05, 0.1, 0.2):
        got = []
        for _ in range(n):
            j, at = int(rng.integers(len(mnist.test_x))), (float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.9)))
            got.append(outcome(client, phone_jpeg(mnist.test_x[j], SIZE, share=share, at=at), int(mnist.test_y[j])))
        print(f"grainy paper, digit {share:.0%} of the height: {tally(got)} (of {n})")
    for paper in PAPERS:
        got = []
        for i in range(n):
            j = int(rng.integers(len(mnist.test_x)))
            photo = notebook_photo(mnist.test_x[j], paper, tilt=float(rng.uniform(-4, 4)), seed=i, size=SIZE)
            got.append(outcome(client, photo, int(mnist.test_y[j])))
        print(f"notebook page, {paper}: {tally(got)} (of {n})")


if __name__ == "__main__":
    main()
