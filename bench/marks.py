"""Numbers written with a mark among their digits (a thousands comma, a decimal point or comma, a minus
sign, a dash between groups, a time's colon, a plus sign, brackets, an equals sign) through POST
/predict/number: how often the digits are read right (`number`) and the line as written (`text`); and how
often lines without any mark are given one.

    python -m bench.marks [--n 60]     # ~4 min on 2 cores

The lines are MNIST test digits side by side (scaled 4x, 0.15-0.45 of a digit's height apart, on a
common baseline) with the mark drawn by a round pen as thick as the digits' strokes: a comma's short
leaning stroke from the baseline down, a dot on the baseline, a dash across the middle, a colon's
two dots (one on the baseline, one 0.45-0.6 of the digits' height over it), a '+' or '=' across the
middle, brackets a little taller than the digits (`sign_ink`); each line as a
canvas PNG (dark on white or light on black) and as a 1600x1200 phone photo of paper
(`support.images.phone_jpeg`, the line 12-20% of its height). Lines without marks: the first 1,000
fixed test strings of the number card (`training.strings.fixed_strings`).
"""

import argparse
import logging

import numpy as np
from PIL import Image, ImageDraw

from bench.inprocess import service
from support.drawing import pen_stroke
from support.images import encode, phone_jpeg
from training.data import load_mnist
from training.strings import fixed_strings

SCALE = 4  # MNIST digits drawn at 112 px: smooth marks
KINDS = {"thousands comma": ("d,ddd", "dd,ddd"), "decimal point": ("d.dd", "dd.d"), "decimal comma": ("d,dd", "dd,d"),
         "minus sign": ("-d", "-dd"), "dash between groups": ("dd-dd", "ddd-d"), "colon (a time)": ("dd:dd", "d:dd"),
         "plus sign": ("+dd", "d+d"), "brackets": ("(ddd)d", "(dd)"), "sum with '='": ("d+d=d", "dd=dd")}
RENDERINGS = ("canvas", "photo")


def digit_columns(digit: np.ndarray) -> np.ndarray:
    """An MNIST digit at SCALE, its blank columns cut (rows kept: MNIST's own baseline stays)."""
    ink = np.asarray(Image.fromarray(digit).resize((28 * SCALE, 28 * SCALE), Image.BICUBIC), np.float32) / 255
    cols = np.flatnonzero((ink > 0.2).any(0))
    return ink[:, cols[0]:cols[-1] + 1]


def mark_ink(mark: str, h: float, pen: float, rng) -> Image.Image:
    """The mark drawn on its own canvas, its rows those of the digits at SCALE (and 32 more below)."""
    base = 24 * SCALE  # MNIST's ink ends ~4 px above the box's bottom
    if mark in "+=()":
        return sign_ink(mark, h, pen, rng, base)
    if mark == "-":
        length, y = h * rng.uniform(0.35, 0.6), base - h + h * rng.uniform(0.42, 0.58)
        tilt = length * rng.uniform(-0.08, 0.08)
        w = int(length + 2 * pen)
        pts = [(w / 2 - length / 2, y + tilt), (w / 2 + length / 2, y - tilt)]
    else:
        w = int(max(pen * 2, 0.5 * h) + 2 * pen)
    img = Image.new("L", (w, 36 * SCALE), 0)
    d = ImageDraw.Draw(img)
    x = w / 2
    if mark in ".:":
        r = pen * rng.uniform(0.5, 0.8)
        d.ellipse([x - r, base - 2 * r, x + r, base], fill=255)
        if mark == ":":  # the upper dot a little under the digits' middle, its own size and place
            y, ru = base - h * rng.uniform(0.45, 0.6), pen * rng.uniform(0.5, 0.8)
            x += h * rng.uniform(-0.04, 0.04)
            d.ellipse([x - ru, y - ru, x + ru, y + ru], fill=255)
        return img
    if mark == ",":
        length, lean = h * rng.uniform(0.2, 0.35), h * rng.uniform(0.03, 0.1)
        pts = [(x + lean / 2, base - 0.08 * h), (x, base + 0.4 * length), (x - lean, base + length - 0.08 * h)]
    pen_stroke(d, pts, pen)
    return img


def sign_ink(mark: str, h: float, pen: float, rng, base: float) -> Image.Image:
    """'+' (two strokes 0.35-0.65 of the digits' height long, crossing across their middle), '=' (two
    such bars 0.15-0.3 of it apart) or a bracket (a bow 1-1.25 of it tall, its middle 0.12-0.25 of that
    aside), each end of a stroke a little off true."""
    size = h * rng.uniform(0.35, 0.65)
    if mark in "+=":
        w, cy = int(size + 2 * pen), base - h + h * rng.uniform(0.42, 0.58)
    else:
        tall = h * rng.uniform(1.0, 1.25)
        bulge = tall * rng.uniform(0.12, 0.25)
        w, y0 = int(bulge + 2 * pen + 2), base + (tall - h) / 2
    img = Image.new("L", (w, 36 * SCALE), 0)
    d = ImageDraw.Draw(img)

    def off() -> float:
        return size * rng.uniform(-0.06, 0.06)

    if mark == "+":
        pen_stroke(d, [(w / 2 - size / 2, cy + off()), (w / 2 + size / 2, cy + off())], pen)
        pen_stroke(d, [(w / 2 + off(), cy - size / 2), (w / 2 + off(), cy + size / 2)], pen)
    elif mark == "=":
        gap = h * rng.uniform(0.15, 0.3)
        for y in (cy - gap / 2, cy + gap / 2):
            pen_stroke(d, [(pen, y + off() / 2), (pen + size, y + off() / 2)], pen)
    else:
        t = np.linspace(0, 1, 24)
        aside = bulge * 4 * t * (1 - t)  # 0 at the ends, `bulge` in the middle
        x = pen + bulge - aside if mark == "(" else pen + aside
        pen_stroke(d, list(zip(x, y0 - tall * t)), pen)
    return img


def marked_line(pattern: str, mnist, rng) -> tuple[np.ndarray, str, str]:
    """White-on-black ink of a line written after `pattern` ('d' a digit, else that mark), its digits
    and its text."""
    idx = rng.integers(len(mnist.test_x), size=pattern.count("d"))
    digits = [digit_columns(mnist.test_x[i]) for i in idx]
    h = float(np.median([np.ptp(np.flatnonzero((g > 0.2).any(1))) for g in digits]))
    pen = float(rng.uniform(0.09, 0.14) * h)
    rows = 28 * SCALE + 8 * SCALE
    pieces, text, k = [], "", 0
    for c in pattern:
        if c == "d":
            piece = np.zeros((rows, digits[k].shape[1]), np.float32)
            piece[:28 * SCALE] = digits[k]
            text += str(int(mnist.test_y[idx[k]]))
            k += 1
        else:
            piece = np.asarray(mark_ink(c, h, pen, rng), np.float32)[:rows] / 255
            text += c
        pieces += [piece, np.zeros((rows, int(rng.uniform(0.15, 0.45) * h)), np.float32)]
    ink = np.concatenate(pieces[:-1], 1)
    return ink, "".join(c for c in text if c.isdigit()), text


def upload(ink: np.ndarray, rendering: str, rng) -> bytes:
    u8 = np.round(255 * np.clip(ink, 0, 1)).astype(np.uint8)
    if rendering == "photo":
        small = np.asarray(Image.fromarray(u8).resize((u8.shape[1] // SCALE, u8.shape[0] // SCALE), Image.BOX))
        return phone_jpeg(small, (1600, 1200), share=float(rng.uniform(0.12, 0.2)),
                          at=(float(rng.uniform(0.4, 0.6)), float(rng.uniform(0.3, 0.7))))
    padded = np.pad(u8, 10 * SCALE)
    return encode(Image.fromarray(255 - padded if rng.random() < 0.5 else padded), "PNG")


def read(client, data: bytes) -> dict | None:
    r = client.post("/predict/number", files={"file": ("line", data, "application/octet-stream")})
    return r.json() if r.status_code == 200 else None


def marked_table(client, mnist, n: int) -> None:
    rng = np.random.default_rng(2026)
    print("| line | rendering | digits read right (`number`) | as written (`text`) | refused |")
    print("|---|---|---|---|---|")
    for kind, patterns in KINDS.items():
        for rendering in RENDERINGS:
            right = written = refused = 0
            for i in range(n):
                ink, digits, text = marked_line(patterns[i % len(patterns)], mnist, rng)
                answer = read(client, upload(ink, rendering, rng))
                refused += answer is None
                right += bool(answer) and answer["number"] == digits
                written += bool(answer) and answer.get("text") == text
            print(f"| {kind} ({' '.join(patterns)}) | {rendering} | {right} of {n} | {written} of {n} | {refused} |")


def unmarked_table(client, mnist, n: int) -> None:
    lines = fixed_strings(mnist.test_x, mnist.test_y, n)
    answers = [read(client, s.data) for s in lines]
    marked = [(s.text, a["text"]) for s, a in zip(lines, answers) if a and a.get("text", a["number"]) != a["number"]]
    exact = sum(bool(a) and a["number"] == s.text for s, a in zip(lines, answers))
    print(f"fixed test strings (no mark written): {exact} of {n} read exactly; {len(marked)} given a mark: {marked}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--n", type=int, default=60, help="lines per kind of mark and rendering")
    p.add_argument("--n-unmarked", type=int, default=1000, help="fixed test strings read for marks that are not there")
    args = p.parse_args()
    logging.disable(logging.INFO)
    mnist = load_mnist()
    with service() as client:
        marked_table(client, mnist, args.n)
        unmarked_table(client, mnist, args.n_unmarked)


if __name__ == "__main__":
    main()
