"""Held-out evaluation uploads for the not-a-digit bars and the pen bars: never used for training or
for choosing a threshold. Written apart from the gate's training generator (`training.negatives`):
other drawing code, other fonts, MNIST test digits only.

Kinds of non-digit: letters that resemble no digit (fonts the gate never saw, and hand-drawn ones),
scribbles, a star, a triangle, a hatch, a spiral, a smiley, colour-noise photos, numbers of 2-4 digits;
apart from those, signs people draw (`sign_sets`: a checkmark, a lightning bolt, a tilde, an umbrella,
which the gate's second round trains on as drawn by other code, and four it never saw).
Pen drawings: MNIST test digits redrawn along their medial axis, and digit templates drawn stroke by
stroke, the digit 8-90% of the canvas side and the pen 2-16% of the digit's height, on transparent,
black and white canvases; and a second set over the same ranges, "stylus": MNIST test digits thinned
another way and re-inked by distance with a pen whose width drifts along the stroke, antialiased.
"""

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage

from training.negatives import FONT_DIR
from training.strings import compose

HELDOUT_FONTS = ["cmss10.ttf", "cmb10.ttf", "cmti10.ttf", "STIXGeneralItalic.ttf", "DejaVuSansMono-Bold.ttf",
                 "DejaVuSerif-Bold.ttf", "DejaVuSans-Oblique.ttf", "STIXGeneralBolIta.ttf"]
LETTERS = "AEFHKMNPRVWXYaefhkmnrvwxy"
KINDS = ("letter", "scribble", "star", "triangle", "hatch", "spiral", "smiley", "noise photo", "number")
CANVASES = ("transparent", "black", "white")


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def on_canvas(mask: Image.Image, kind: str) -> bytes:
    """A white-ink mask ('L') as a drawing app's export."""
    if kind == "black":
        return encode(mask.convert("RGB"))
    if kind == "white":
        return encode(Image.eval(mask, lambda v: 255 - v).convert("RGB"))
    return encode(Image.merge("RGBA", [Image.new("L", mask.size, 20)] * 3 + [mask]))


def frame(rng, side_lo=200, side_hi=600):
    side = int(rng.integers(side_lo, side_hi))
    return side, Image.new("L", (side, side), 0)


def bezier(points: np.ndarray, n: int = 60) -> list[tuple[float, float]]:
    """A smooth curve through control points (Catmull-Rom)."""
    p = np.vstack([points[:1], points, points[-1:]])
    out = []
    for i in range(1, len(p) - 2):
        for t in np.linspace(0, 1, max(2, n // (len(p) - 3)), endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(0.5 * ((2 * p[i]) + (-p[i - 1] + p[i + 1]) * t + (2 * p[i - 1] - 5 * p[i] + 4 * p[i + 1] - p[i + 2]) * t2
                              + (-p[i - 1] + 3 * p[i] - 3 * p[i + 1] + p[i + 2]) * t3))
    out.append(p[-2])
    return [tuple(map(float, q)) for q in out]


def draw_lines(img: Image.Image, lines, width: int) -> Image.Image:
    d = ImageDraw.Draw(img)
    for pts in lines:
        d.line(pts, fill=255, width=width, joint="curve")
        for x, y in (pts[0], pts[-1]):
            d.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=255)
    return img


def letter(rng) -> Image.Image:
    side, img = frame(rng)
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONT_DIR / HELDOUT_FONTS[int(rng.integers(len(HELDOUT_FONTS)))]),
                              int(side * rng.uniform(0.35, 0.8)))
    ch = LETTERS[int(rng.integers(len(LETTERS)))]
    left, top, right, bottom = d.textbbox((0, 0), ch, font=font)
    x = (side - (right - left)) / 2 - left + rng.uniform(-0.1, 0.1) * side
    d.text((x, (side - (bottom - top)) / 2 - top), ch, fill=255, font=font)
    return img


def scribble(rng) -> Image.Image:
    side, img = frame(rng)
    pts = rng.uniform(0.15, 0.85, (int(rng.integers(5, 12)), 2)) * side
    return draw_lines(img, [bezier(pts, 200)], max(2, int(side * rng.uniform(0.01, 0.05))))


def regular(rng, side, k, inner=None, turn=0.0):
    c, r = side / 2, side * rng.uniform(0.25, 0.42)
    pts = []
    for i in range(k * (2 if inner else 1)):
        radius = r * (inner if inner and i % 2 else 1)
        a = turn + i * math.pi / (k if inner else k / 2) - math.pi / 2
        pts.append((c + radius * math.cos(a), c + radius * math.sin(a)))
    return pts + pts[:1]


def star(rng) -> Image.Image:
    side, img = frame(rng)
    return draw_lines(img, [regular(rng, side, 5, inner=0.4)], max(2, int(side * rng.uniform(0.01, 0.04))))


def triangle(rng) -> Image.Image:
    side, img = frame(rng)
    return draw_lines(img, [regular(rng, side, 3, turn=rng.uniform(-0.2, 0.2))], max(2, int(side * rng.uniform(0.01, 0.05))))


def hatch(rng) -> Image.Image:
    side, img = frame(rng)
    n = int(rng.integers(4, 9))
    a, b = side * 0.2, side * 0.8
    slope = rng.uniform(-0.3, 0.3) * side
    lines = [[(a + (b - a) * i / (n - 1), a), (a + (b - a) * i / (n - 1) + slope, b)] for i in range(n)]
    return draw_lines(img, lines, max(2, int(side * rng.uniform(0.008, 0.03))))


def spiral(rng) -> Image.Image:
    side, img = frame(rng)
    a = np.linspace(0, rng.uniform(2.5, 4.5) * 2 * math.pi, 300)
    r = side * 0.4 * a / a[-1]
    return draw_lines(img, [list(zip(side / 2 + r * np.cos(a), side / 2 + r * np.sin(a)))], max(2, int(side * 0.02)))


def smiley(rng) -> Image.Image:
    side, img = frame(rng)
    d = ImageDraw.Draw(img)
    w = max(2, int(side * rng.uniform(0.015, 0.04)))
    m = side * 0.12
    d.ellipse([m, m, side - m, side - m], outline=255, width=w)
    for ex in (0.37, 0.63):
        d.ellipse([side * ex - w * 1.5, side * 0.38 - w * 1.5, side * ex + w * 1.5, side * 0.38 + w * 1.5], fill=255)
    d.arc([side * 0.3, side * 0.35, side * 0.7, side * 0.72], 20, 160, fill=255, width=w)
    return img


def noise_photo(rng) -> bytes:
    w, h = int(rng.integers(300, 900)), int(rng.integers(300, 900))
    img = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(0, 256, 3)))
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(5, 40))):
        x, y = rng.integers(0, w), rng.integers(0, h)
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        d.rectangle([x, y, x + rng.integers(10, w // 2), y + rng.integers(10, h // 2)], fill=colour)
    arr = np.asarray(img, np.float32) + rng.normal(0, rng.uniform(5, 40), (h, w, 3))
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0, 3)))
    return encode(img, "JPEG", quality=85)


def number(rng, images, labels) -> Image.Image:
    idx = rng.integers(0, len(images), int(rng.integers(2, 5)))
    ink = compose([images[i] for i in idx], rng, touching=rng.random() < 0.3)
    return Image.fromarray((np.clip(ink, 0, 1) * 255).astype(np.uint8))


def nondigit(kind: str, rng, images, labels) -> bytes:
    if kind == "noise photo":
        return noise_photo(rng)
    makers = {"letter": letter, "scribble": scribble, "star": star, "triangle": triangle, "hatch": hatch,
              "spiral": spiral, "smiley": smiley}
    mask = number(rng, images, labels) if kind == "number" else makers[kind](rng)
    return on_canvas(mask, CANVASES[int(rng.integers(3))])


def nondigit_sets(images, labels, per_kind: int = 200, seed: int = 5150) -> dict[str, list[bytes]]:
    rng = np.random.default_rng(seed)
    return {kind: [nondigit(kind, rng, images, labels) for _ in range(per_kind)] for kind in KINDS}


def unit_circle(cx: float, cy: float, rx: float, ry: float, a0: float = 0.0, a1: float = 2 * math.pi, n: int = 40):
    a = np.linspace(a0, a1, n)
    return list(zip(cx + rx * np.cos(a), cy + ry * np.sin(a)))


# Signs people draw that are no digit (beyond the kinds), unit square, y down: the first four
# are among the gate's training negatives (drawn by other code there), the others never were.
SIGNS = {
    "checkmark": lambda rng: [[(0.1, rng.uniform(0.45, 0.65)), (rng.uniform(0.3, 0.42), 0.88), (0.9, rng.uniform(0.08, 0.3))]],
    "lightning bolt": lambda rng: [[(0.62, 0.05), (0.28, 0.55), (0.52, 0.5), (0.34, 0.95), (0.78, 0.42), (0.55, 0.46),
                                    (0.75, 0.05), (0.62, 0.05)]],
    "tilde": lambda rng: [list(zip(np.linspace(0.08, 0.92, 50),
                                   0.5 - rng.uniform(0.08, 0.16) * np.sin(np.linspace(0, rng.uniform(1.8, 2.6) * math.pi, 50))))],
    "umbrella": lambda rng: [unit_circle(0.5, 0.5, 0.4, rng.uniform(0.25, 0.35), math.pi, 2 * math.pi) + [(0.1, 0.5)],
                             [(0.5, 0.5), (0.5, 0.88), (0.42, 0.9), (0.38, 0.82)]],
    "musical note": lambda rng: [unit_circle(0.38, 0.8, 0.1, 0.07), [(0.48, 0.8), (0.48, 0.12), (0.72, 0.3)]],
    "fish": lambda rng: [unit_circle(0.42, 0.5, 0.3, 0.18, 0.6, 2 * math.pi - 0.6) + [(0.9, 0.3), (0.9, 0.7)]
                         + unit_circle(0.42, 0.5, 0.3, 0.18, 0.6, 0.6, 1)],
    "envelope": lambda rng: [[(0.1, 0.25), (0.9, 0.25), (0.9, 0.75), (0.1, 0.75), (0.1, 0.25)],
                             [(0.1, 0.25), (0.5, 0.55), (0.9, 0.25)]],
    "house": lambda rng: [[(0.2, 0.9), (0.2, 0.45), (0.5, 0.12), (0.8, 0.45), (0.8, 0.9), (0.2, 0.9)],
                          [(0.42, 0.9), (0.42, 0.68), (0.58, 0.68), (0.58, 0.9)]],
}


def sign(name: str, rng) -> bytes:
    """One sign, wobbled and turned a little, with a pen 2-8% of its size, on a drawing app's canvas."""
    side, img = frame(rng)
    size = side * rng.uniform(0.45, 0.9)
    turn = rng.uniform(-0.25, 0.25)
    c, s = math.cos(turn), math.sin(turn)
    origin = (side - size) / 2 + rng.uniform(-0.05, 0.05, 2) * side
    lines = []
    for line in SIGNS[name](rng):
        p = np.asarray(line, np.float64) - 0.5
        p = np.stack([p[:, 0] * c - p[:, 1] * s, p[:, 0] * s + p[:, 1] * c], 1) + 0.5 + rng.normal(0, 0.004, p.shape)
        lines.append([tuple(q) for q in p * size + origin])
    return on_canvas(draw_lines(img, lines, max(2, int(size * rng.uniform(0.02, 0.08)))), CANVASES[int(rng.integers(3))])


def sign_sets(per_kind: int = 100, seed: int = 6160) -> dict[str, list[bytes]]:
    rng = np.random.default_rng(seed)
    return {name: [sign(name, rng) for _ in range(per_kind)] for name in SIGNS}


# Digit templates, unit square, drawn stroke by stroke (a second pen generator beside MNIST skeletons).
TEMPLATES = {
    0: [[(0.5, 0), (0.15, 0.2), (0.1, 0.5), (0.15, 0.8), (0.5, 1), (0.85, 0.8), (0.9, 0.5), (0.85, 0.2), (0.5, 0)]],
    1: [[(0.35, 0.2), (0.55, 0), (0.55, 1)]],
    2: [[(0.15, 0.25), (0.35, 0.03), (0.65, 0.03), (0.85, 0.25), (0.8, 0.45), (0.1, 1), (0.9, 1)]],
    3: [[(0.15, 0.1), (0.5, 0), (0.8, 0.15), (0.75, 0.38), (0.45, 0.48), (0.8, 0.6), (0.85, 0.85), (0.5, 1), (0.15, 0.9)]],
    4: [[(0.65, 1), (0.65, 0), (0.1, 0.7), (0.95, 0.7)]],
    5: [[(0.85, 0), (0.25, 0), (0.2, 0.45), (0.6, 0.4), (0.85, 0.65), (0.75, 0.9), (0.45, 1), (0.15, 0.9)]],
    6: [[(0.75, 0.05), (0.4, 0.2), (0.18, 0.6), (0.25, 0.9), (0.5, 1), (0.8, 0.85), (0.8, 0.6), (0.5, 0.5), (0.2, 0.65)]],
    7: [[(0.1, 0), (0.9, 0), (0.4, 1)]],
    8: [[(0.5, 0.48), (0.2, 0.3), (0.3, 0.05), (0.7, 0.05), (0.8, 0.3), (0.5, 0.48), (0.15, 0.72), (0.3, 0.97),
         (0.7, 0.97), (0.85, 0.72), (0.5, 0.48)]],
    9: [[(0.8, 0.4), (0.5, 0.5), (0.2, 0.35), (0.3, 0.05), (0.65, 0.03), (0.8, 0.4), (0.75, 1)]],
}


def template_digit(digit: int, rng, height: float, pen: float, side: int) -> Image.Image:
    img = Image.new("L", (side, side), 0)
    width = height * rng.uniform(0.55, 0.75)
    x0, y0 = rng.uniform(0, side - width), rng.uniform(0, side - height)
    lines = []
    for stroke in TEMPLATES[digit]:
        pts = np.asarray(stroke) + rng.normal(0, 0.02, (len(stroke), 2))
        pts = np.stack([x0 + pts[:, 0] * width, y0 + pts[:, 1] * height], 1)
        lines.append(bezier(pts, 120))
    return draw_lines(img, lines, max(1, round(pen)))


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning: a connected, one-pixel-wide skeleton of a binary image."""
    img = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = [np.roll(np.roll(img, -dy, 0), -dx, 1) for dy, dx in
                 ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))]  # P2..P9
            neighbours = sum(p)
            transitions = sum(((p[i] == 0) & (p[(i + 1) % 8] == 1)).astype(np.uint8) for i in range(8))
            if step == 0:
                cond = (p[0] * p[2] * p[4] == 0) & (p[2] * p[4] * p[6] == 0)
            else:
                cond = (p[0] * p[2] * p[6] == 0) & (p[0] * p[4] * p[6] == 0)
            remove = (img == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & cond
            if remove.any():
                img[remove] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


def upsampled(digit_img: np.ndarray) -> np.ndarray:
    """An MNIST digit at 112x112 (bicubic), in [0, 1]."""
    return np.asarray(Image.fromarray(digit_img).resize((112, 112), Image.BICUBIC), np.float32) / 255


def placement(mask: np.ndarray, rng, height: float, side: int):
    """(ys, xs) in `mask` -> (ys, xs) on a side x side canvas, the mask's ink box scaled to `height` px
    and put at a random place."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    scale = height / (rows[-1] - rows[0] + 1)
    w = (cols[-1] - cols[0] + 1) * scale
    x0, y0 = rng.uniform(0, max(1, side - w)), rng.uniform(0, max(1, side - height))
    return lambda ys, xs: (y0 + (ys - rows[0]) * scale, x0 + (xs - cols[0]) * scale)


def skeleton_digit(digit_img: np.ndarray, rng, height: float, pen: float, side: int) -> Image.Image:
    """An MNIST digit redrawn with a round pen along its skeleton, `height` px tall."""
    up = upsampled(digit_img)
    mask = ndimage.binary_opening(up > 0.45, iterations=1) | (up > 0.7)
    ridge = thin(mask)
    ys, xs = placement(mask, rng, height, side)(*np.nonzero(ridge))
    img = Image.new("L", (side, side), 0)
    d = ImageDraw.Draw(img)
    r = max(0.5, pen / 2)
    for y, x in zip(ys, xs):
        d.ellipse([x - r, y - r, x + r, y + r], fill=255)
    return img


def ridge_segments(ridge: np.ndarray) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Each pair of 8-neighbouring skeleton pixels once, as ((y, x), (y, x)): the skeleton as a line drawing."""
    ys, xs = np.nonzero(ridge)
    on = set(zip(ys.tolist(), xs.tolist()))
    return [((y, x), (y + dy, x + dx)) for y, x in on for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1))
            if (y + dy, x + dx) in on]


def pressure_digit(digit_img: np.ndarray, rng, height: float, pen: float, side: int) -> Image.Image:
    """An MNIST digit thinned and re-inked by distance to its skeleton, `height` px tall, with a pen whose width
    drifts along the stroke (a stylus's pressure, +-35%) and antialiased edges. A second MNIST pen generator:
    no opening before thinning (a thin 1 stays whole), the skeleton joined as lines, not stamped."""
    mask = upsampled(digit_img) > 0.5
    to_canvas = placement(mask, rng, height, side)
    skeleton = Image.new("L", (side, side), 0)
    d = ImageDraw.Draw(skeleton)
    for a, b in ridge_segments(thin(mask)):
        (ya, xa), (yb, xb) = to_canvas(*a), to_canvas(*b)
        d.line([(xa, ya), (xb, yb)], fill=255, width=1)
    distance = ndimage.distance_transform_edt(np.asarray(skeleton) == 0)
    pressure = Image.fromarray(rng.normal(0, 1, (4, 4)).astype(np.float32), mode="F").resize((side, side), Image.BICUBIC)
    radius = pen / 2 * (1 + 0.35 * np.clip(np.asarray(pressure), -1.5, 1.5))
    ink = np.clip(radius - distance + 0.5, 0, 1)
    return Image.fromarray(np.round(ink * 255).astype(np.uint8))


def pen_sets(n: int, seed: int, draw) -> list[dict]:
    """[{data, digit, size (share of the canvas side), pen (share of the digit's height), canvas, source}]:
    n drawings over the bar's ranges, `draw(i, rng, height, pen, side)` -> (ink mask, digit, source)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        side = int(rng.integers(280, 700))
        size = float(rng.uniform(0.08, 0.9))
        pen = float(rng.uniform(0.02, 0.16))
        height = max(8.0, size * side)
        mask, digit, source = draw(i, rng, height, pen * height, side)
        canvas = CANVASES[i % 3]
        out.append({"data": on_canvas(mask, canvas), "digit": digit, "size": size, "pen": pen, "canvas": canvas,
                    "source": source})
    return out


def pressure_drawings(images, labels, n: int = 1000, seed: int = 9090) -> list[dict]:
    """Pen drawings from the second MNIST generator (`pressure_digit`), as `pen_drawings` gives them."""
    def draw(i, rng, height, pen, side):
        j = int(rng.integers(len(images)))
        return pressure_digit(images[j], rng, height, pen, side), int(labels[j]), "mnist-pressure"

    return pen_sets(n, seed, draw)


def pen_drawings(images, labels, n: int = 1000, seed: int = 8080) -> list[dict]:
    """Half MNIST test digits redrawn along their skeleton (`skeleton_digit`), half stroke templates."""
    def draw(i, rng, height, pen, side):
        if i % 2 == 0:
            j = int(rng.integers(len(images)))
            return skeleton_digit(images[j], rng, height, pen, side), int(labels[j]), "mnist"
        digit = int(rng.integers(10))
        return template_digit(digit, rng, height, pen, side), digit, "template"

    return pen_sets(n, seed, draw)
