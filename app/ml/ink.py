"""Ink geometry on a white-on-black image in [0, 1]: stroke width, pen normalization, and the glyphs
(separate pieces of ink side by side) of a line. NumPy and SciPy only: the CPU service runs without torch.

Pen normalization: MNIST strokes are about 2.7 px wide in the 20x20 box (median over 2,000 training
digits, 5-95% range 1.8-4.3, measured with `stroke_width` at 4x resolution). A digit drawn small
with a fat pen, or large with a hairline, is redrawn along its medial axis at that width, so every
route's model sees MNIST-like strokes. Strokes already in MNIST's range are left as they are.
"""

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from PIL import Image
from scipy import ndimage

BOX = 20  # the model sees the ink's longer side scaled to 20 px (MNIST's recipe)
MNIST_STROKE = 2.7  # median stroke width of MNIST digits in the 20-px box
STROKE_RANGE = (1.8, 4.5)  # widths (in the 20-px box) left as drawn
PEN_SIDE = 80  # pen normalization works with the ink box scaled to this many pixels
INK_LEVEL = 0.35  # a pixel at least this bright counts as ink for geometry
INK_FLOOR = 0.05  # cleaned ink (background 0, strongest 1) brighter than this is ink at all (a digit is cropped to it)
STRONG = 0.3  # ... and brighter than this, strong: a pen's, not a photo's faint haze (0.05-0.1)
MAX_COVER = 0.45  # widening a thin pen stops before ink covers this share of the (square) digit box
# An ink box under this many pixels on its longer side (a digit drawn 8-15 px tall: a small canvas, a
# thumbnail) is always redrawn, whatever its stroke width: scaled up from so few pixels, its strokes are
# staircases, which no model saw in training (MNIST's are smooth). TINY_BLUR (px, at the upload's scale)
# rounds the staircase before the redraw.
TINY_INK = 16
TINY_BLUR = 0.5
EIGHT = np.ones((3, 3), dtype=bool)


def stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the distance to the background along the medial ridge
    (outside the array counts as background)."""
    dt, ridge = medial_ridge(np.pad(mask, 1))
    return 2.0 * float(np.median(dt[ridge])) - 1.0 if ridge.any() else 0.0


def row_runs(mask: np.ndarray) -> np.ndarray:
    """How many separate runs of ink each row of `mask` holds (0 for an empty row)."""
    return np.count_nonzero(np.diff(mask.astype(np.int8), axis=1, prepend=0, append=0) == 1, axis=1)


def medial_ridge(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distance of each ink pixel to the background, and the ink pixels where it peaks locally."""
    dt = ndimage.distance_transform_edt(mask)
    return dt, mask & (dt >= ndimage.maximum_filter(dt, 3))


def resize(x: np.ndarray, width: int, height: int) -> np.ndarray:
    shrinking = width < x.shape[1] or height < x.shape[0]
    img = Image.fromarray(x.astype(np.float32, copy=False), mode="F")
    return np.asarray(img.resize((max(1, width), max(1, height)), Image.BOX if shrinking else Image.BILINEAR),
                      dtype=np.float32)


def normalize_pen(crop: np.ndarray) -> np.ndarray:
    """The ink crop with MNIST-like strokes once its longer side is scaled to 20 px (unchanged if already so).

    Returns an image at PEN_SIDE scale when it redraws the strokes, else `crop` itself. A tiny crop
    (under TINY_INK px) is always redrawn."""
    h, w = crop.shape
    f = PEN_SIDE / max(h, w)
    tiny = max(h, w) < TINY_INK
    # A margin of background: the crop is the ink's box, and a stroke touching its edge (a 1 fills its
    # box's width) must not look infinitely wide to the distance transform.
    work = np.pad(resize(ndimage.gaussian_filter(crop, TINY_BLUR) if tiny else crop, round(w * f), round(h * f)), 2)
    peak = float(work.max())
    mask = work > INK_LEVEL * peak  # a hairline shrunk to this scale is faint, not gone
    if mask.sum() < 8:
        return crop
    side = max(np.ptp(np.flatnonzero(mask.any(1))), np.ptp(np.flatnonzero(mask.any(0)))) + 1
    width = stroke_width(mask)
    if not tiny and STROKE_RANGE[0] <= width * BOX / side <= STROKE_RANGE[1]:
        return crop
    # Grow or shrink every stroke by r on each side; the ink box changes by 2r too, hence the (1 - T/20).
    t = MNIST_STROKE / BOX
    r = (width - t * side) / (2 * (1 - t))
    if r > 0:  # too thick: keep the core, and redraw the medial ridge at MNIST's width (so that the thin
        # strokes of a bold serif font or a light pen pressure are not cut or left as hairlines)
        dt, ridge = medial_ridge(mask)
        new = (dt > r) | (ndimage.distance_transform_edt(~ridge) <= t * side / 2)
    else:  # too thin: widen, but never so much that close strokes (a spiral's turns, a scribble's
        # loops) run into one blob: ink may cover at most MAX_COVER of the box (MNIST digits: ~20-35%)
        dt = ndimage.distance_transform_edt(~mask)
        reach = -r
        while reach > 0.5 and (dt <= reach).sum() > MAX_COVER * max(dt.shape) ** 2:
            reach *= 0.8
        new = dt <= reach
    return np.clip(ndimage.gaussian_filter(new.astype(np.float32), 0.6 * PEN_SIDE / 28), 0, 1)


def upright_stroke(x: np.ndarray) -> bool:
    """A 28x28 input whose ink is one narrow upright piece: that is how people draw a 1, so it is never
    taught as a non-digit (training) nor refused as one (serving)."""
    ink = x > 0.3
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    if len(cols) == 0 or (cols[-1] - cols[0] + 1) > 0.45 * (rows[-1] - rows[0] + 1):
        return False
    labels, n = ndimage.label(ink, structure=EIGHT)
    sizes = np.bincount(labels.ravel())[1:]
    return int((sizes >= 0.1 * sizes.max()).sum()) == 1  # one piece (specks aside)


STRAIGHT = 4.5  # elongation of a straight stroke: MNIST test 1s 6.5 (median), other digits under 3.9 (99%)


class InkAxis(NamedTuple):
    """The principal axis of some ink (`principal_axis`)."""

    angle: float  # degrees, positive falling to the right (image y grows downwards)
    elongation: float  # the spread along the axis over the spread across it
    width: int  # the ink's extent across columns and rows (last minus first)
    height: int


def principal_axis(x: np.ndarray, level: float = 0.3) -> InkAxis | None:
    """The principal axis of the ink brighter than `level`, weighted by its brightness; None for under
    10 pixels of ink."""
    ys, xs = np.nonzero(x > level)
    if len(xs) < 10:
        return None
    w = x[ys, xs].astype(np.float64)
    dx, dy = xs - np.average(xs, weights=w), ys - np.average(ys, weights=w)
    xx, yy, xy = np.average(dx * dx, weights=w), np.average(dy * dy, weights=w), np.average(dx * dy, weights=w)
    spread = math.hypot((xx - yy) / 2, xy)  # the covariance's eigenvalues are its mean +- this
    elongation = math.sqrt(((xx + yy) / 2 + spread) / max((xx + yy) / 2 - spread, 1e-9))
    return InkAxis(math.degrees(0.5 * math.atan2(2 * xy, xx - yy)), elongation, int(np.ptp(xs)), int(np.ptp(ys)))


def straight_stroke(x: np.ndarray) -> bool:
    """A 28x28 input whose ink is one straight stroke at any angle (a bare 1, one line of a hatch)."""
    axis = principal_axis(x)
    return axis is not None and axis.elongation >= STRAIGHT


FLAT = 0.3  # no digit's ink is this flat: MNIST's flattest is 0.40 of its width tall (training split), 0.50 (test)


def flat_stroke(x: np.ndarray) -> bool:
    """A 28x28 input whose ink is under FLAT of its width tall: a dash, a minus sign, an underline. No
    digit is that flat, but the gate never saw one and reads a thin dash as a 2 (P = 0.96)."""
    ink = x > 0.3
    rows = np.flatnonzero(ink.any(1))
    if len(rows) == 0 or rows[-1] - rows[0] + 1 >= FLAT * x.shape[1]:
        return False  # as tall as that, nothing in the frame is wide enough (any digit: half the work)
    cols = np.flatnonzero(ink.any(0))
    return rows[-1] - rows[0] + 1 < FLAT * (cols[-1] - cols[0] + 1)


HALF_LEVEL = (0.25, 0.75)  # ink between these shares of the brightest is at half level: one of two averaged digits alone
AVERAGED = 0.15  # over this share of the ink's medial ridge at half level is two digits averaged pixel-wise. Chosen on
# validation: averaged pairs of the MNIST training split's validation digits (1,000 as 28x28 PNGs, 300 each as a
# photo, two canvases and a scan) 1.5-3.7% under it; one pen's ink 88-97% under it (300 validation digits rendered
# the same four ways; 1,000 as 28x28: 88%, thin MNIST strokes are antialiased), drawn letters, shapes, signs and
# scribbles 99-100% (100 of each kind)


def averaged(x: np.ndarray) -> bool:
    """Whether ink (white on black) is two digits averaged pixel-wise (an overlap pair) rather than one
    pen's: where one digit has ink and the other none the average is half as bright as where both do,
    so over AVERAGED of its medial ridge lies at HALF_LEVEL of its brightest. One pen's strokes, a
    digit's or a letter's, are as bright along their middle as anywhere."""
    peak = float(x.max())
    ink = x > 0.2 * peak
    if peak <= 0 or ink.sum() < 5:
        return False
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))  # the ink's box alone (4x faster at 256 px)
    _, ridge = medial_ridge(np.pad(ink[box], 1))
    level = np.pad(x[box], 1)[ridge] / peak
    return bool(np.mean((level > HALF_LEVEL[0]) & (level < HALF_LEVEL[1])) > AVERAGED)


SCATTER = 0.05  # a piece of at least this share of an averaged-looking input's ink counts as one of its pieces


def scattered(x: np.ndarray) -> bool:
    """A 28x28 input whose ink (over 0.2 of its brightest) lies in two or more pieces of at least SCATTER
    of it each. Two digits averaged into one image overlap in one box: one piece in 986 of 987 MNIST
    validation pairs as 28x28 PNGs and in all rendered as canvases or scans, but 229 of 293 as phone
    photos (a faint stroke breaks); photos of nothing that look averaged (blotches at many levels): 236
    of 358 (`training.negatives.texture`)."""
    ink = x > 0.2 * float(x.max())
    labels, n = ndimage.label(ink, EIGHT)
    if n < 2:
        return False
    sizes = label_sums(labels, n)
    return int((sizes >= SCATTER * sizes.sum()).sum()) >= 2


FILLED = 0.3  # a pen's strokes at MNIST's width have under this share of their ink 2.5 px or more inside
# its edge: drawn and photographed digits 0.18 at most here, a sticky note's 0.28; a face's hair 0.35


def filled_shape(x: np.ndarray) -> bool:
    """A 28x28 input whose strokes were brought to MNIST's width and still hold a filled area (FILLED):
    a face's hair over its eyes, a dark object on a desk. No pen's stroke is that thick after
    `normalize_pen`, but the gate never saw such shapes and read a head of hair over two eyes as a 9."""
    ink = x > 0.5
    if not ink.any():
        return False
    return bool((ndimage.distance_transform_edt(ink) >= 2.5).sum() >= FILLED * ink.sum())


@dataclass(frozen=True)
class Box:
    """A box in an image: top, left, bottom, right (exclusive)."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left


def around(boxes: list[Box]) -> Box:
    """The box around all `boxes`."""
    return Box(min(b.top for b in boxes), min(b.left for b in boxes), max(b.bottom for b in boxes),
               max(b.right for b in boxes))


@dataclass(frozen=True)
class Glyph(Box):
    """A piece of ink: its box in the image and its ink mask there."""

    mask: np.ndarray


def label_sums(labels: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    """For labels 1..n of `ndimage.label`: each one's pixel count, or its sum of `weights` (an array of
    the labels' shape), bit for bit `np.bincount(labels.ravel(), weights)[1:]`, counted over the
    labelled pixels alone (the whole image's bincount took ~1 ms on a 1000x300 line, this ~0.15)."""
    on = labels > 0
    return np.bincount(labels[on], None if weights is None else weights[on], minlength=n + 1)[1:]


def components(x: np.ndarray, level: float = INK_LEVEL) -> list[Glyph]:
    """Connected pieces of ink (8-connected), specks smaller than 1% of the largest piece dropped."""
    mask = x > level
    labels, n = ndimage.label(mask, structure=EIGHT)
    if n == 0:
        return []
    sizes = label_sums(labels, n)
    keep = sizes >= max(3, 0.01 * sizes.max())
    pieces = []
    for i, sl in enumerate(ndimage.find_objects(labels)):
        if keep[i]:
            pieces.append(Glyph(sl[0].start, sl[1].start, sl[0].stop, sl[1].stop, labels[sl] == i + 1))
    return pieces


def merge(a: Glyph, b: Glyph) -> Glyph:
    top, left = min(a.top, b.top), min(a.left, b.left)
    bottom, right = max(a.bottom, b.bottom), max(a.right, b.right)
    mask = np.zeros((bottom - top, right - left), dtype=bool)
    for g in (a, b):
        mask[g.top - top:g.bottom - top, g.left - left:g.right - left] |= g.mask
    return Glyph(top, left, bottom, right, mask)


def columns(pieces: list[Glyph]) -> list[Glyph]:
    """Pieces merged into left-to-right columns: a piece that overlaps another horizontally by half
    of the narrower one's width belongs to it when one of the two is short (a 5's detached bar, a
    broken stroke). Two tall pieces stay apart: a 1 leaning into its neighbour is its own digit."""
    glyphs: list[Glyph] = []
    for p in sorted(pieces, key=lambda g: g.left):
        if glyphs:
            last = glyphs[-1]
            overlap = min(last.right, p.right) - max(last.left, p.left)
            short = min(last.height, p.height) < 0.7 * max(last.height, p.height)
            if overlap >= 0.5 * min(last.width, p.width) and short:
                glyphs[-1] = merge(last, p)
                continue
        glyphs.append(p)
    return glyphs


def tall_columns(x: np.ndarray) -> tuple[list[Glyph], int]:
    """Columns of ink side by side, however close (`columns`), without small marks (shorter than half
    the ink's height, or holding under 15% of its ink); and the ink's height."""
    glyphs = columns(components(x))
    if len(glyphs) < 2:
        return glyphs, glyphs[0].height if glyphs else 0
    top, bottom = min(g.top for g in glyphs), max(g.bottom for g in glyphs)
    total = sum(int(g.mask.sum()) for g in glyphs)
    return [g for g in glyphs if g.height >= 0.5 * (bottom - top) and g.mask.sum() >= 0.15 * total], bottom - top


def separate_glyphs(x: np.ndarray) -> list[Glyph]:
    """Tall columns of ink separated by a visible gap: what reads as several characters side by side."""
    return separated(*tall_columns(x))


def separated(tall: list[Glyph], height: int) -> list[Glyph]:
    """`tall_columns` apart by a visible gap: columns closer than 15% of the ink's height count as one (a
    digit drawn in two strokes); touching digits are one column here: the gate recognizes them."""
    if len(tall) < 2:
        return tall
    gap = max(2, 0.15 * height)
    apart = tall[:1]
    for g in tall[1:]:
        if g.left - apart[-1].right < gap:
            apart[-1] = merge(apart[-1], g)
        else:
            apart.append(g)
    return apart
