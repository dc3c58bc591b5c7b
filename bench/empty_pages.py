"""Photos of empty pages (nothing written) through POST /predict, /predict/overlap and /predict/number:
how many are answered with a digit (or a number) instead of refused, and the reasons of the refusals.

    python -m bench.empty_pages [--n 20] [--pairs 300]   # ~10 min on 2 cores

A person tries the service with a photo of nothing, or sends one by mistake: it must say there is no
digit. Uploads (`support.images`, 1200x900 JPEGs, photo k drawn with seed k): a page of a notebook, plain,
ruled or squared; a school exercise book's page (ruled, a red margin or header line, the light falling
off down it); a sheet under a desk lamp (20-50% darker in the farthest corner); a sheet on a desk; a
sticky note on a desk; a whiteboard; a notebook page nearly filling the photo on a desk.

And, against refusing what is written there: two MNIST test digits averaged (an overlap pair) written on
the lined kinds of page, through `/predict/overlap`: how many are read right and how many refused.
"""

import numpy as np

from bench.inprocess import counts, service
from support import images

ROUTES = ("/predict", "/predict/overlap", "/predict/number")
REASONS = ("no_ink", "not_a_digit", "several_digits", "several_lines")


def empty_photos(n: int) -> dict[str, list[bytes]]:
    """n photos of each kind of empty page (the module docstring)."""
    z = np.zeros((28, 28), np.uint8)
    return {**{f"notebook page, {paper}": [images.notebook_photo(z, paper, seed=k) for k in range(n)]
               for paper in ("plain", "ruled", "squared")},
            "school page": [images.school_page_photo(z, seed=k) for k in range(n)],
            "under a lamp": [images.lamp_photo(z, 0.2 + 0.3 * k / max(1, n), seed=k) for k in range(n)],
            "sheet on a desk": [images.desk_photo(z, seed=k) for k in range(n)],
            "sticky note": [images.note_photo(z, seed=k) for k in range(n)],
            "whiteboard": [images.whiteboard_photo(z, seed=k) for k in range(n)],
            "notebook page on a desk": [images.notebook_desk_photo(z, seed=k) for k in range(n)]}


PAIR_PAGES = {"notebook page, ruled": lambda pair, k: images.notebook_photo(pair, "ruled", seed=k),
              "notebook page, squared": lambda pair, k: images.notebook_photo(pair, "squared", seed=k),
              "school page": lambda pair, k: images.school_page_photo(pair, seed=k),
              "notebook page on a desk": lambda pair, k: images.notebook_desk_photo(pair, seed=k)}


def pair_table(client, digits: np.ndarray, labels: np.ndarray, n: int) -> dict[str, tuple[int, int]]:
    """{kind of page: (pairs read right, pairs refused)} over n averaged pairs of `digits` (digit 2k with
    2k + 1) written on each kind of `PAIR_PAGES` (photo k drawn with seed k); each row printed."""
    from training.data import pair_images

    idx = np.arange(2 * n).reshape(n, 2)
    pairs = np.round(pair_images(digits, idx) * 255).astype(np.uint8)
    truth = [sorted({int(labels[a]), int(labels[b])}) for a, b in idx]
    rows = {}
    for kind, photo in PAIR_PAGES.items():
        answered = [client.post("/predict/overlap", files={"file": ("page.jpg", photo(pair, k), "image/jpeg")})
                    for k, pair in enumerate(pairs)]
        right = sum(r.status_code == 200 and r.json()["digits"] == t for r, t in zip(answered, truth))
        rows[kind] = (right, sum(r.status_code == 422 for r in answered))
        print(f"pairs on a {kind:24s} n={n:3d} right {rows[kind][0]:3d}  refused {rows[kind][1]:3d}", flush=True)
    return rows


def answers(client, route: str, photos: list[bytes]) -> tuple[int, dict[str, int]]:
    """(how many of `photos` `route` answered 200, refusals by reason)."""
    codes = []
    for data in photos:
        r = client.post(route, files={"file": ("page.jpg", data, "image/jpeg")})
        codes.append(r.json().get("reason", "") if r.status_code == 422 else str(r.status_code))
    return codes.count("200"), {reason: codes.count(reason) for reason in REASONS if reason in codes}


def table(client, n: int) -> dict[str, dict[str, int]]:
    """{kind: {route: answered}} over `empty_photos(n)`; each row printed."""
    rows: dict[str, dict[str, int]] = {}
    for kind, photos in empty_photos(n).items():
        rows[kind] = {}
        for route in ROUTES:
            answered, reasons = answers(client, route, photos)
            rows[kind][route] = answered
            print(f"{kind:24s} {route:17s} n={len(photos):3d} answered {answered:3d}  refused {reasons}", flush=True)
    return rows


def main(argv=None) -> None:
    from training.data import load_mnist

    args = counts(__doc__, {"--n": (20, "photos of each kind"), "--pairs": (300, "overlap pairs on each kind of lined page")},
                  argv)
    mnist = load_mnist()
    with service() as client:
        rows = table(client, args.n)
        pair_table(client, mnist.test_x, mnist.test_y, args.pairs)
    for route in ROUTES:
        total = sum(row[route] for row in rows.values())
        print(f"{route}: {total} of {args.n * len(rows)} empty photos answered", flush=True)


if __name__ == "__main__":
    main()
