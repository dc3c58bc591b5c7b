"""The example uploads that the README's curl lines send, shipped in `app/web/static/examples/` and
served at `/static/examples/<name>`, so that a newcomer's first request needs no image of their own.

    python -m support.examples          # rewrites them, byte for byte the same

Each is made from the real MNIST test digits of the tests' fixture (`tests/fixtures/mnist_test_300.npz`)
or, for the letter, drawn as the page's canvas exports a drawing; `EXAMPLES` says what the service
answers for each. `tests/app/test_examples.py` checks those answers, that the shipped files are what
this module writes, and that the README sends only these files.
"""

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from support.images import notebook_photo, phone_heic, png

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_DIR = ROOT / "app" / "web" / "static" / "examples"
DIGITS = ROOT / "tests" / "fixtures" / "mnist_test_300.npz"


@dataclass(frozen=True)
class Example:
    name: str
    what: str
    route: str  # the route the README sends it to
    answer: dict  # the fields of the answer (status 200) or of the refusal (422) that it must show
    form: tuple[tuple[str, str], ...] = ()  # form fields sent beside the file
    status: int = 200


EXAMPLES = (
    Example("7.png", "an MNIST test digit as it is, 28x28 (white on black)", "/predict", {"digit": 7}),
    Example("7.png", "the same with a number to add", "/predict/sum", {"digit": 7, "sum": 12}, (("number", "5"),)),
    Example("photo.jpg", "a phone photo of a 3 written on ruled notebook paper", "/predict", {"digit": 3}),
    Example("IMG_0042.HEIC", "an iPhone photo of a 5 (HEIC, stored turned, EXIF orientation 6)", "/predict",
            {"digit": 5}),
    Example("pair.png", "a 3 and an 8 averaged pixel-wise, 28x28", "/predict/overlap", {"digits": [3, 8]}),
    Example("number.jpg", "a phone photo of 2025 written on ruled paper", "/predict/number", {"number": "2025"}),
    Example("letter-A.png", "a letter A drawn on a transparent canvas", "/predict", {"reason": "not_a_digit"},
            status=422),
)


class Digits:
    """MNIST test digits (uint8 28x28, white on black) by label, each handed out once."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images, self.labels, self.used = images, labels, {}

    def next(self, digit: int) -> np.ndarray:
        n = self.used[digit] = self.used.get(digit, -1) + 1
        return self.images[np.flatnonzero(self.labels == digit)[n]]

    def row(self, text: str) -> np.ndarray:
        """The digits of `text` side by side (28 x 28k)."""
        return np.hstack([self.next(int(c)) for c in text])


def make_examples(images: np.ndarray, labels: np.ndarray) -> dict[str, bytes]:
    """{file name: bytes} of every example, from these MNIST test digits."""
    from support.drawing import draw
    from training.data import pair_images

    digits = Digits(images, labels)
    pair = pair_images(np.stack([digits.next(3), digits.next(8)]), np.array([[0, 1]]))[0] * 255
    return {
        "7.png": png(digits.next(7)),
        "photo.jpg": notebook_photo(digits.next(3), "ruled", tilt=2.0, seed=3),
        "IMG_0042.HEIC": phone_heic(digits.next(5), (1008, 756)),
        "pair.png": png(np.round(pair).astype(np.uint8)),
        "number.jpg": notebook_photo(digits.row("2025"), "ruled", tilt=-1.5, seed=2025),
        "letter-A.png": draw("A", height=160, pen=14, background="transparent"),
    }


def fixture_digits() -> tuple[np.ndarray, np.ndarray]:
    with np.load(DIGITS) as f:
        return f["images"], f["labels"]


def write_examples(out: Path = EXAMPLE_DIR) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in make_examples(*fixture_digits()).items():
        (out / name).write_bytes(data)
        paths.append(out / name)
    return paths


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", type=Path, default=EXAMPLE_DIR, help="where to write the examples")
    args = p.parse_args(argv)
    for path in write_examples(args.out):
        print(f"{path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
