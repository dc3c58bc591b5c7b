"""Digits written faintly (pencil) through POST /predict: the share read right and the share answered
no_ink, by how much darker than the paper the ink is; and empty photos, which must stay no_ink.

    python -m bench.faint_ink [--n 100]   # ~1 min on 2 cores

Faint digits: MNIST test digits on near-white paper, 300-px JPEGs with sensor noise
(`support.images.pencil_photo`), the ink's darkness drawn uniformly in each row's band. Empty photos: a
blank grainy phone photo, plain, ruled and squared notebook pages, a desk lamp's falloff, a sheet on a
desk, a sticky note and a whiteboard (`support.images`), with nothing written.
"""

import numpy as np

from bench.inprocess import counts, service
from support import images
from training.data import load_mnist

BANDS = ((0.15, 0.20, 3.0), (0.20, 0.25, 3.0), (0.25, 0.30, 6.0), (0.30, 0.35, 6.0), (0.35, 0.45, 6.0))  # lo, hi, noise


def post(client, data: bytes):
    r = client.post("/predict", files={"file": ("photo.jpg", data, "image/jpeg")})
    return r.status_code, r.json()


def faint_table(client, mnist, n: int) -> dict[str, tuple[float, float]]:
    rows = {}
    for lo, hi, noise in BANDS:
        rng = np.random.default_rng(int(100 * lo))
        idx = rng.choice(len(mnist.test_x), n, replace=False)
        answers = [post(client, images.pencil_photo(mnist.test_x[i], float(rng.uniform(lo, hi)), seed=int(i), noise=noise))
                   for i in idx]
        right = np.mean([s == 200 and b["digit"] == mnist.test_y[i] for (s, b), i in zip(answers, idx)])
        no_ink = np.mean([b.get("reason") == "no_ink" for _, b in answers])
        name = f"ink {lo:.0%}-{hi:.0%} darker, noise {noise:g}"
        rows[name] = (float(right), float(no_ink))
        print(f"{name:32s} n={n:4d} right {100 * right:5.1f}%  no_ink {100 * no_ink:5.1f}%", flush=True)
    return rows


def empty_photos(n: int) -> dict[str, list[bytes]]:
    z = np.zeros((28, 28), np.uint8)
    size = (1200, 900)
    return {"blank grainy photo": [images.phone_jpeg(z, size=size) for _ in range(1)],
            **{f"notebook page, {paper}": [images.notebook_photo(z, paper, seed=i, size=size) for i in range(n)]
               for paper in ("plain", "ruled", "squared")},
            "lamp": [images.lamp_photo(z, 0.5, seed=i) for i in range(n)],
            "sheet on a desk": [images.desk_photo(z, seed=i) for i in range(n)],
            "sticky note": [images.note_photo(z, seed=i) for i in range(n)],
            "whiteboard": [images.whiteboard_photo(z, seed=i) for i in range(n)]}


def empty_table(client, n: int) -> dict[str, float]:
    rows = {}
    for name, photos in empty_photos(n).items():
        answers = [post(client, data) for data in photos]
        rows[name] = float(np.mean([s == 422 for s, _ in answers]))
        reasons = {r: sum(b.get("reason") == r for _, b in answers) for r in ("no_ink", "not_a_digit", "several_digits")}
        print(f"empty, {name:26s} n={len(photos):3d} refused {100 * rows[name]:5.1f}%  {reasons}", flush=True)
    return rows


def main(argv=None) -> None:
    args = counts(__doc__, {"--n": (100, "faint digits per band"), "--n-empty": (10, "empty photos per generator")}, argv)
    with service() as client:
        faint_table(client, load_mnist(), args.n)
        empty_table(client, args.n_empty)


if __name__ == "__main__":
    main()
