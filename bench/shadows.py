"""Digits photographed with a shadow across the page (a hand's or a phone's) through POST /predict: the
share read right (a 422 counts as wrong), for digits in the shadow and in the light, by how dark the
shadow is and how sharp its edge; and the refusals' reasons.

    python -m bench.shadows [--n 60]   # ~1 min on 2 cores

Uploads: `support.images.shadow_photo` (1200x900 JPEGs; a sheet filling the photo, a shadow from one side
over 15-75% of it, its edge a slanted line blurred by 2 px or 12 px; an MNIST test digit 15-30% of the
photo tall anywhere on it), the same n MNIST test digits in each row, photo k of a row drawn with seed k.
A known weakness, measured: where the shadow runs along the photo's edge it is taken for a desk around
a sheet (`preprocess.on_page`) unless 1% of it is dark strokes (`is_shadow`), so a digit in it is painted
over as desk (`no_ink`); and a hard shadow's edge stands out after the flat-field.
"""

import numpy as np

from bench.inprocess import counts, service
from support.images import shadow_photo

ROWS = ((0.7, 2), (0.7, 12), (0.55, 2), (0.55, 12), (0.4, 2), (0.4, 12))  # (paper in the shadow / lit, edge blur px)


def row(client, digits: np.ndarray, labels: np.ndarray, level: float, blur: float) -> dict:
    """{"shadow": [right, n], "lit": [right, n], "reasons": {reason: count}} over the digits in one row."""
    out: dict = {"shadow": [0, 0], "lit": [0, 0], "reasons": {}}
    for k, (digit, label) in enumerate(zip(digits, labels)):
        data, inside = shadow_photo(digit, level, blur, seed=k)
        r = client.post("/predict", files={"file": ("photo.jpg", data, "image/jpeg")})
        where = out["shadow" if inside else "lit"]
        where[0] += r.status_code == 200 and r.json()["digit"] == int(label)
        where[1] += 1
        if r.status_code == 422:
            out["reasons"][r.json()["reason"]] = out["reasons"].get(r.json()["reason"], 0) + 1
    return out


def table(client, digits: np.ndarray, labels: np.ndarray) -> dict[str, dict]:
    rows = {}
    for level, blur in ROWS:
        name = f"shadow at {level:.0%} of the light, edge {blur:g} px"
        rows[name] = r = row(client, digits, labels, level, blur)
        (rs, ns), (rl, nl) = r["shadow"], r["lit"]
        print(f"{name:36s} right {100 * (rs + rl) / (ns + nl):5.1f}% (digit in the shadow {rs}/{ns}, in the light "
              f"{rl}/{nl})  refused {r['reasons']}", flush=True)
    return rows


def main(argv=None) -> None:
    from training.data import load_mnist

    args = counts(__doc__, {"--n": (60, "MNIST test digits per row")}, argv)
    mnist = load_mnist()
    idx = np.random.default_rng(0).choice(len(mnist.test_x), args.n, replace=False)
    with service() as client:
        table(client, mnist.test_x[idx], mnist.test_y[idx])


if __name__ == "__main__":
    main()
