"""Digits and numbers sent with something around them that is not writing (`app/ml/clutter.py`,
`app.ml.rules.without_margins`, `app.ml.preprocess.without_edge_slivers`): a line drawn under them, a
circle or a box drawn around them, a screenshot of a drawing app (title bar, toolbar icons, the
canvas's frame) or of a sketch app on a phone or a tablet (status bar, app bar, tool buttons or a
palette, navigation bar: `app.ml.screens`), a photo of a monitor showing them (its dark bezel), a
school page's red margin or header line, a light desk's slivers along the edges of
a tilted photo of a page, the desk around a notebook page that (nearly) fills the photo, a page
photographed with the phone turned, the light page around a dark picture or the wall around a blackboard. Counts answers
through POST /predict (one MNIST test digit) and POST /predict/number (lines of 2-5 MNIST test digits):
right, refused (by reason) and wrong.

    python -m bench.surroundings [--n 60]     # ~5 min on 2 cores

Uploads: `support.images.marked_photo` (a 1000x750 JPEG of paper, the writing 20-45% of its height,
the mark drawn by hand with a pen 1/14-1/10 of the writing's height) and `support.images.app_screenshot`
(a 1280x800 PNG, the writing 25-50% of the canvas's height anywhere on it) and
`support.images.phone_screenshot` (a phone's 1080x1920 to 1440x3200 or a tablet's screen, PNG or one
in four JPEG, light or dark; the bars in colours of their own, in the canvas's colour, a toolbar
floating over the canvas, or a tablet's tool panel down the left side) and `support.images.screen_photo`
(a 1600x1200 JPEG of a monitor showing the writing: a dark bezel around its bright screen, a dark to
mid-grey room around that) and
`support.images.school_page_photo` (a 1200x900 JPEG of a ruled exercise book's page filling the photo,
a red margin line down it or, one time in four, a header line across it) and
`support.images.filling_page_photo` (a 1200x900 JPEG of a sheet covering 98-108% of each side, turned
up to 8 degrees, on a light desk) and `support.images.notebook_desk_photo` (a 1200x900 JPEG of a
notebook page, ruled or plain, covering 85-115% of the photo's width on a dark, grey or light desk, the
writing a line tall, 3-10% of the photo's height) and `support.images.turned_photo` (a 1200x900 JPEG
of paper filling the photo, taken with the phone turned 12-30 degrees either way: the line's slope,
`app.ml.lines.skew`) and `support.images.shown_on_page` (a screenshot of the digits shown white on black,
4-14x, on a white or light grey page, a margin of 1-40% kept: `app.ml.preprocess.without_matte`) and
`support.images.blackboard_photo` (a 1200x900 JPEG of chalk on a dark board on a light wall:
`app.ml.preprocess.on_sheet`). Digit i of the table is
MNIST test digit i; the numbers take the test digits after those.
"""

import argparse
import logging
from collections import Counter

import numpy as np

from bench.inprocess import service
from support.images import (
    app_screenshot,
    blackboard_photo,
    digit_lines,
    filling_page_photo,
    marked_photo,
    notebook_desk_photo,
    phone_screenshot,
    school_page_photo,
    screen_photo,
    shown_on_page,
    turned_photo,
)
from training.data import load_mnist

UPLOADS = {
    "underlined": lambda ink, seed: marked_photo(ink, "underline", seed=seed),
    "circled": lambda ink, seed: marked_photo(ink, "circle", seed=seed),
    "boxed": lambda ink, seed: marked_photo(ink, "box", seed=seed),
    "drawing app screenshot": lambda ink, seed: app_screenshot(ink, seed=seed),
    "phone screenshot, coloured bars": lambda ink, seed: phone_screenshot(ink, seed=seed, style="bars"),
    "phone screenshot, flat bars": lambda ink, seed: phone_screenshot(ink, seed=seed, style="flat"),
    "phone screenshot, floating toolbar": lambda ink, seed: phone_screenshot(ink, seed=seed, style="floating"),
    "tablet screenshot, side panel": lambda ink, seed: phone_screenshot(ink, seed=seed, style="tablet"),
    "photo of a monitor (dark bezel)": lambda ink, seed: screen_photo(ink, seed=seed),
    "school page (margin line)": lambda ink, seed: school_page_photo(ink, seed=seed),
    "page filling a tilted photo (light desk)": lambda ink, seed: filling_page_photo(ink, seed=seed),
    "small writing, ruled page on a desk": lambda ink, seed: notebook_desk_photo(ink, seed=seed),
    "small writing, plain page on a desk": lambda ink, seed: notebook_desk_photo(ink, seed=seed, paper="plain"),
    "photo taken turned 12-30 degrees": lambda ink, seed: turned_photo(ink, seed=seed),
    "MNIST image shown on a light page (screenshot)": lambda ink, seed: shown_on_page(ink, seed=seed),
    "blackboard on a light wall": lambda ink, seed: blackboard_photo(ink, seed=seed),
}


def answer(client, route: str, data: bytes, truth: str) -> str:
    """'right', 'wrong' or the refusal's reason."""
    r = client.post(route, files={"file": ("upload", data, "application/octet-stream")})
    body = r.json()
    if r.status_code != 200:
        return body.get("reason") or str(r.status_code)
    return "right" if str(body["digit" if route == "/predict" else "number"]) == truth else "wrong"


def table(client, samples: dict[str, list[tuple[np.ndarray, str]]]) -> None:
    print("| upload | route | n | right | refused (reasons) | wrong |")
    print("|---|---|---|---|---|---|")
    for name, make in UPLOADS.items():
        for route, items in samples.items():
            counts = Counter(answer(client, route, make(ink, seed), truth) for seed, (ink, truth) in enumerate(items))
            refusals = {k: v for k, v in counts.items() if k not in ("right", "wrong")}
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(refusals.items()))
            print(f"| {name} | `{route}` | {len(items)} | {counts['right']} | {sum(refusals.values())}"
                  f"{f' ({reasons})' if reasons else ''} | {counts['wrong']} |", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--n", type=int, default=60, help="uploads per kind and route")
    args = p.parse_args()
    logging.disable(logging.INFO)
    mnist = load_mnist()
    images, labels = mnist.test_x, mnist.test_y
    samples = {"/predict": [(images[i], str(int(labels[i]))) for i in range(args.n)],
               "/predict/number": digit_lines(images[args.n:], labels[args.n:], args.n)}
    with service() as client:
        table(client, samples)


if __name__ == "__main__":
    main()
