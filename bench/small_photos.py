"""Small digits in large phone photos through POST /predict: answers right, refused, wrong, by the
digit's share of the photo's height.

    python -m bench.small_photos [--n 30]      # ~2 min on 2 cores

Two generators of 4032x3024 (12 MP) JPEGs of MNIST test digits: grainy paper photographed a little out
of focus (`support.images.phone_jpeg`, the digit anywhere in the frame) and a notebook page
(`support.images.notebook_photo`, plain, ruled and squared paper, turned up to 4 degrees, the digit
1.4-2.4 of the page's line spacing tall, i.e. 2-7% of the photo's height).
"""

import argparse

import numpy as np
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from support.images import notebook_photo, phone_jpeg
from training.data import load_mnist

SIZE = (4032, 3024)


def outcome(client, data: bytes, digit: int) -> str:
    r = client.post("/predict", files={"file": ("IMG.jpg", data, "image/jpeg")})
    if r.status_code == 200:
        return "right" if r.json()["digit"] == digit else "wrong"
    return r.json().get("reason") or str(r.status_code)


def tally(outcomes: list[str]) -> str:
    return ", ".join(f"{k} {outcomes.count(k)}" for k in sorted(set(outcomes), key=lambda k: k != "right"))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--n", type=int, default=30, help="photos per row of the table")
    args = p.parse_args(argv)
    mnist = load_mnist()
    rng = np.random.default_rng(12)
    with TestClient(create_app(Settings(device="cpu", log_level="warning"))) as client:
        for share in (0.03, 0.05, 0.1, 0.2):
            got = []
            for _ in range(args.n):
                j, at = int(rng.integers(len(mnist.test_x))), (float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.1, 0.9)))
                got.append(outcome(client, phone_jpeg(mnist.test_x[j], SIZE, share=share, at=at), int(mnist.test_y[j])))
            print(f"grainy paper, digit {share:.0%} of the height: {tally(got)} (of {args.n})")
        for paper in ("plain", "ruled", "squared"):
            got = []
            for i in range(args.n):
                j = int(rng.integers(len(mnist.test_x)))
                photo = notebook_photo(mnist.test_x[j], paper, tilt=float(rng.uniform(-4, 4)), seed=i, size=SIZE)
                got.append(outcome(client, photo, int(mnist.test_y[j])))
            print(f"notebook page, {paper}: {tally(got)} (of {args.n})")


if __name__ == "__main__":
    main()
