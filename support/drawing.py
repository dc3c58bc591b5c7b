"""Hand-built drawings for the tests and the benchmarks: strokes with a round pen on a canvas, encoded as an upload.

Strokes are polylines in a unit box; `glyph` places one per character, left to right."""

import io

import numpy as np
from PIL import Image, ImageDraw

# Unit-box polylines of hand-drawn digits, a few letters and marks (y grows downwards).
STROKES = {
    "0": [[(0.5, 0), (0.15, 0.2), (0.1, 0.5), (0.15, 0.8), (0.5, 1), (0.85, 0.8), (0.9, 0.5), (0.85, 0.2), (0.5, 0)]],
    "1": [[(0.3, 0.2), (0.55, 0), (0.55, 1)]],
    "2": [[(0.15, 0.25), (0.35, 0.03), (0.65, 0.03), (0.85, 0.25), (0.8, 0.45), (0.1, 1), (0.9, 1)]],
    "3": [[(0.15, 0.1), (0.5, 0), (0.8, 0.15), (0.75, 0.38), (0.45, 0.48), (0.8, 0.6), (0.85, 0.85), (0.5, 1), (0.15, 0.9)]],
    "4": [[(0.7, 1), (0.7, 0), (0.1, 0.65), (0.95, 0.65)]],
    "5": [[(0.85, 0), (0.25, 0), (0.2, 0.45), (0.6, 0.4), (0.85, 0.65), (0.75, 0.9), (0.45, 1), (0.15, 0.9)]],
    "7": [[(0.1, 0), (0.9, 0), (0.4, 1)]],
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.25, 0.6), (0.75, 0.6)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.4), (0.75, 1), (1, 0)]],
    "-": [[(0, 0.5), (1, 0.5)]],
    ",": [[(0.55, 0.85), (0.5, 1), (0.35, 1.2)]],  # a comma's tail reaches below the line
    ".": [[(0.5, 0.95), (0.5, 0.95)]],  # a dot: the pen's width
    ":": [[(0.5, 0.4), (0.5, 0.4)], [(0.5, 0.95), (0.5, 0.95)]],  # two dots, one over the other (a time)
    "+": [[(0.1, 0.52), (0.9, 0.5)], [(0.5, 0.22), (0.52, 0.8)]],  # smaller than the digits, across their middle
    "=": [[(0.1, 0.38), (0.9, 0.38)], [(0.1, 0.66), (0.9, 0.64)]],
    "(": [[(0.7, -0.05), (0.42, 0.2), (0.32, 0.5), (0.42, 0.8), (0.7, 1.05)]],
    ")": [[(0.3, -0.05), (0.58, 0.2), (0.68, 0.5), (0.58, 0.8), (0.3, 1.05)]],
    "/": [[(0.2, 1.0), (0.8, 0.0)]],
}


def draw(text: str, height: int = 120, pen: int = 12, gap: float = 0.35, width_ratio: float = 0.6,
         margin: int = 40, background: str = "transparent", size: tuple[int, int] | None = None,
         origin: tuple[int, int] | None = None) -> bytes:
    """`text` drawn left to right with a round pen: 'transparent' (black strokes, alpha), 'white'
    (black on white) or 'black' (white on black). Returns PNG bytes."""
    w_char = height * width_ratio
    step = w_char + gap * height
    width = int(2 * margin + step * (len(text) - 1) + w_char)
    canvas_w, canvas_h = size or (width, height + 2 * margin)
    mask = Image.new("L", (canvas_w, canvas_h), 0)
    d = ImageDraw.Draw(mask)
    ox, oy = origin or (margin, margin)
    for i, ch in enumerate(text):
        x0 = ox + i * step
        for stroke in STROKES[ch]:
            pen_stroke(d, [(x0 + x * w_char, oy + y * height) for x, y in stroke], pen)
    return encode(mask, background)


def pen_stroke(d: ImageDraw.ImageDraw, pts: list[tuple[float, float]], pen: float) -> None:
    """A polyline drawn white with a round pen `pen` px wide (rounded joints, ends `pen` across)."""
    d.line(pts, fill=255, width=int(pen), joint="curve")
    for x, y in (pts[0], pts[-1]):
        d.ellipse([x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2], fill=255)


def encode(mask: Image.Image, background: str) -> bytes:
    if background == "black":
        img = mask.convert("RGB")
    elif background == "white":
        img = Image.eval(mask, lambda v: 255 - v).convert("RGB")
    else:
        img = Image.merge("RGBA", [Image.new("L", mask.size, 0)] * 3 + [mask])
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def ink_of(data: bytes) -> np.ndarray:
    """White-on-black ink in [0, 1] of a drawing made by `draw`."""
    img = Image.open(io.BytesIO(data))
    if img.mode == "RGBA":
        return np.asarray(img, np.float32)[..., 3] / 255
    return np.asarray(img.convert("L"), np.float32) / 255


def ink_image(text: str, **kw) -> np.ndarray:
    """`text` drawn by `draw` (its keywords) as a uint8 image, white ink on black: what the photo
    generators of `support.images` take for a digit."""
    return np.round(255 * ink_of(draw(text, **kw))).astype(np.uint8)


def draw_lines(texts: list[str], height: int = 80, pen: int = 8, line_gap: float = 0.6, background: str = "white",
               **kw) -> bytes:
    """Several lines of `draw`, one under the other `line_gap` of a line's height apart, as one upload."""
    margin = 40
    step = height * (1 + line_gap)
    width = max(len(ink_of(draw(t, height=height, pen=pen, **kw))[0]) for t in texts)
    size = (width, int(2 * margin + step * (len(texts) - 1) + height))
    inks = [ink_of(draw(t, height=height, pen=pen, size=size, origin=(margin, int(margin + i * step)),
                        background="black", **kw)) for i, t in enumerate(texts)]
    return encode(Image.fromarray(np.round(np.max(inks, 0) * 255).astype(np.uint8)), background)


def typed(text: str, font: str = "DejaVuSans.ttf", size: int = 90, spacing: float | None = None) -> bytes:
    """`text` typed dark on white in one of matplotlib's bundled fonts (PNG). `spacing`: set character by
    character, each this share of `size` after the last (tighter than the font's own: a number whose
    digits nearly touch); None: as the font sets it."""
    from PIL import ImageFont

    from training.negatives import FONT_DIR

    face = ImageFont.truetype(str(FONT_DIR / font), size)
    mask = Image.new("L", (size * len(text), 2 * size), 0)
    d = ImageDraw.Draw(mask)
    if spacing is None:
        d.text((size // 2, size // 3), text, fill=255, font=face)
        return encode(mask, "white")
    x = size / 2
    for ch in text:
        left, _, right, _ = d.textbbox((0, 0), ch, font=face)
        d.text((x - left, size // 3), ch, fill=255, font=face)
        x += right - left + spacing * size
    return encode(mask, "white")
