"""Ruled and squared paper: a notebook page's printed lines, found and taken out of a photo's ink.

A digit photographed on notebook paper comes with the page's lines: long, straight, parallel, with one
tilt, and fainter than the pen's ink. Left in, they are ink like any other: the crop spans the whole
page and the digit shrinks to a dot (measured: every such photo was refused as not a digit). Here a
line is a band of ink (up to MAX_TILT degrees off horizontal, or off vertical for a grid's other
lines) that crosses at least COVERAGE of the image (short gaps bridged), at most MAX_THICKNESS of it
thick and at least MIN_SPACING of it from the next (closer bands are one stroke's antialiased edge);
lines are taken out only when at least MIN_LINES such bands with one tilt are fainter than FAINT
times the brightest ink off them (a pen's strokes are not) and stand out of the rows beside them (a
band of what the flat-field left of the page's shading does not). Each line loses its own level: a
long opening along it, at most the lines' brightness, so that where a stroke crosses a line or rests
on it the stroke stays; what the lines leave (crossings, specks, faint pieces) goes. One or two lines
alone across the image (ACROSS of it: a school page's red margin line, a header line, a form's answer
line) go too when writing stands apart from them, or nothing at all does on a ruled page
(`without_margins`). An image without such lines comes back as it was (the same array): drawings,
MNIST, photos of plain paper.

Works on the white-on-black ink image in [0, 1] that `app.ml.preprocess.isolate_ink` makes; NumPy and
SciPy only (and `app.ml.ink`'s levels).
"""

import math

import numpy as np
from scipy import ndimage

from app.ml.ink import EIGHT, STRONG, label_sums

MAX_TILT = 8.0  # degrees: a phone held a little askew
COVERAGE = 0.6  # a line crosses at least this share of the image (a margin or the digit may break it)
MAX_THICKNESS = 0.03  # a printed line is thin: at most this share of the image's other side
MIN_SPACING = 0.025  # a page's lines are at least this share of the image apart
MIN_LINES = 3  # ruled paper shows several lines; one or two long strokes are the writing's own
FAINT = 0.6  # a printed line is at most this bright, against the brightest ink off the lines ...
STANDS_OUT = 0.5  # ... and stands over the rows beside it by this share of its level (not a band of shading)
LINE_INK = 0.02  # a pixel at least this bright may belong to a line (a thin line shrunk to the work scale is faint)
RESIDUE = 0.08  # what stays of a line under this (or under its own level) is cut
GAP = 5  # gaps in a line shorter than this (px) are bridged before its level is taken
EDGE = 0.05  # a small piece this close to the border of a lined page's photo is the page's, not the pen's
COARSE = 4  # the tilt is first searched on a copy this many times smaller, in 1-degree steps
ACROSS = 0.8  # one or two printed lines across this share of the image (a ruled page's margin, a form's answer line) ...
BESIDE = 0.35  # ... beside writing whose longest piece along them is under this share of the image are the page's
SPECK = 0.02  # writing is a piece at least this share of the image's longer side tall or wide (not the page's grain)


def shear(mask: np.ndarray, slope: float) -> np.ndarray:
    """Row indices that straighten lines falling `slope` rows per column: pixel (i, j) goes to row
    i + s[j] of a taller image, s[j] = round(-j * slope) shifted to start at 0. Exact and invertible."""
    return shears(mask.shape, [slope])[0]


def shears(shape: tuple[int, int], slopes) -> np.ndarray:
    """`shear`'s row indices for each of `slopes`: (len(slopes), h, w)."""
    h, w = shape
    s = np.round(-np.arange(w)[None, :] * np.asarray(slopes, dtype=np.float64)[:, None]).astype(np.intp)
    return np.arange(h)[None, :, None] + (s - s.min(1, keepdims=True))[:, None, :]


def band_coverage(mask: np.ndarray, slopes) -> np.ndarray:
    """(len(slopes), rows): for each slope, per row of the sheared image, the share of columns with ink
    in that row or in a row beside it (rows past a shorter sheared image are empty)."""
    rows = shears(mask.shape, slopes)
    n, w = len(rows), mask.shape[1]
    ys, xs = np.nonzero(mask)
    sheared = np.zeros((n, int(rows.max()) + 3, w), dtype=bool)
    sheared[np.arange(n)[:, None], rows[:, ys, xs] + 1, xs[None, :]] = True
    band = sheared[:, :-2] | sheared[:, 1:-1] | sheared[:, 2:]
    return band.sum(2) / w


def best_slope(mask: np.ndarray, slopes: list[float]) -> tuple[float, np.ndarray]:
    """(the slope along which the ink lines up best, the band coverage per sheared row along it): the
    most concentrated projection (largest sum of squared coverages; several slopes can reach full
    coverage of a line on a coarse copy)."""
    coverage = band_coverage(mask, slopes)
    best = int(np.argmax((coverage ** 2).sum(1)))
    return slopes[best], coverage[best]


def tilt_slopes(step_degrees: float, around: float = 0.0, span: float = MAX_TILT) -> list[float]:
    degrees = np.arange(-span, span + 1e-9, step_degrees) + around
    return [math.tan(math.radians(d)) for d in degrees if abs(d) <= MAX_TILT + 1e-9]


def line_bands(mask: np.ndarray, least: int = MIN_LINES) -> tuple[float, list[tuple[int, int]]]:
    """(slope, [(first row, last row) of each line in the sheared image]) of the horizontal lines in
    `mask`; no bands when there are none (or too little ink for `least` lines). The tilt is searched
    in 1-degree steps on a copy COARSE times smaller (a line there stays a line: a block with any ink
    is ink), then refined."""
    h, w = mask.shape
    if min(h, w) < 4 * COARSE:  # a sliver of an image (1 x 20000 px) is no page
        return 0.0, []
    small = mask[:h - h % COARSE, :w - w % COARSE].reshape(h // COARSE, COARSE, w // COARSE, COARSE).any((1, 3))
    if small.sum() < least * COVERAGE * small.shape[1]:  # too little ink for `least` lines
        return 0.0, []
    if small.any(0).mean() < COVERAGE:  # no line crosses COVERAGE of the columns when fewer have any ink
        return 0.0, []
    coarse, coverage = best_slope(small, tilt_slopes(1.0))
    if coverage.max() < COVERAGE:
        return 0.0, []
    # A faint line is broken where the noise floor cut it: gaps shorter than GAP are bridged along it.
    bridged = ndimage.maximum_filter1d(mask, GAP, axis=1)
    slope, coverage = best_slope(bridged, tilt_slopes(0.25, math.degrees(math.atan(coarse)), 0.75))
    labels, _ = ndimage.label(coverage >= COVERAGE)
    bands = [(sl.start, sl.stop - 1) for (sl,) in ndimage.find_objects(labels)]
    thin = max(3, MAX_THICKNESS * h) + 2  # the band adds a row on each side
    return slope, [(a, b) for a, b in spaced(bands, max(6.0, MIN_SPACING * h)) if b - a + 1 <= thin]


def spaced(bands: list[tuple[int, int]], gap: float) -> list[tuple[int, int]]:
    """Bands closer than `gap` rows merged into one: a long stroke's antialiased edge can split into
    several thin bands side by side, and together they are that stroke, not a page's lines."""
    merged: list[tuple[int, int]] = []
    for a, b in bands:
        if merged and a - merged[-1][1] < gap:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def line_level(x: np.ndarray) -> np.ndarray | None:
    """The level of `x`'s horizontal printed lines at each pixel (0 off them), or None when it has
    none: fewer than MIN_LINES line bands, or bands as bright as the ink off them.

    Every long horizontal run (straightened by the lines' slope) counts at its own level up to the
    lines' brightness, so that a line too broken to count as a band goes too; gaps shorter than GAP
    (noise) are bridged first."""
    slope, bands = line_bands(x > LINE_INK)
    if len(bands) < MIN_LINES:
        return None
    rows = shear(x, slope)
    cols = np.arange(x.shape[1])[None, :]
    sheared = np.zeros((int(rows.max()) + 1, x.shape[1]), dtype=np.float32)
    sheared[rows, cols] = x
    on_line = np.zeros(len(sheared), dtype=bool)
    for a, b in bands:
        on_line[a:b + 1] = True  # the line's rows and one on each side
    off = sheared[~on_line]
    peak = float(off.max()) if off.size else 0.0
    length = max(9, x.shape[1] // 8)
    # A thin line's ink moves between neighbouring rows along its length (it is not exactly at the slope
    # found, and is antialiased): its level is taken over three rows.
    spread = ndimage.maximum_filter1d(sheared, 3, axis=0)
    # An opening along the rows, for which the sheared image's empty corners (outside the photo) do not
    # end a line: a line's last pixels keep its level.
    inside = np.zeros(sheared.shape, dtype=bool)
    inside[rows, cols] = True
    eroded = ndimage.minimum_filter1d(np.where(inside, ndimage.grey_closing(spread, size=(1, GAP)), 1.0), length, axis=1)
    level = ndimage.maximum_filter1d(np.where(inside, eroded, 0.0), length, axis=1)
    brightness = [float(np.percentile(level[a:b + 1], 90)) for a, b in bands]
    faint = [v for v, (a, b) in zip(brightness, bands) if v <= FAINT * peak and standing(level, a, b) >= STANDS_OUT * v]
    if len(faint) < MIN_LINES:
        return None
    return np.minimum(level, 1.2 * max(faint))[rows, cols]


def standing(level: np.ndarray, a: int, b: int) -> float:
    """How far the band of rows a-b stands over the rows beside it (two rows beyond it, the lower of the
    two sides), column by column: the 90th percentile (of the lines' `level`)."""
    around = np.minimum(level[max(0, a - 3)], level[min(len(level) - 1, b + 3)])
    return float(np.percentile(level[a:b + 1].max(0) - around, 90))


Levels = tuple[np.ndarray | None, np.ndarray | None]


def printed_lines(x: np.ndarray) -> Levels:
    """The levels of `x`'s printed lines (`line_level`), across and down (each None where there are none)."""
    down = line_level(x.T)
    return line_level(x), None if down is None else down.T


def is_grid(x: np.ndarray, lines: Levels | None = None) -> bool:
    """Printed lines in both directions: squared paper. `lines`: `printed_lines(x)`, when known."""
    return all(level is not None for level in lines or printed_lines(x))


def remove_rules(x: np.ndarray, lines: Levels | None = None) -> np.ndarray:
    """The ink image without a ruled or squared page's printed lines (see the module docstring). Where
    lines of both directions cross, both levels go (a crossing is darker than either line). `lines`:
    `printed_lines(x)`, when known."""
    lines = lines or printed_lines(x)
    levels = [level for level in lines if level is not None]
    x = without_margins(x, lines)  # before the lines cut a margin line crossing them into pieces
    if not levels:
        return x
    level = sum(levels)
    brightness = float(level.max())
    out = np.clip(x - level, 0, 1)
    out[(level > 0) & (out < brightness)] = 0  # what stays of a line, up to its brightest level
    # and after: what stays of a header line along them, darker than they are (`without_margins`' `before`)
    return without_margins(without_remnants(out, brightness), before=x)


def without_margins(x: np.ndarray, lines: Levels = (None, None), before: np.ndarray | None = None) -> np.ndarray:
    """`x` without lone printed lines across it: a ruled page's red margin line down its side, a form's
    answer line, a page's header line (one or two, where MIN_LINES keeps `line_level` from taking them).
    Such a line is a band of ink (over RESIDUE) as `line_bands` finds them, crossing over ACROSS of the
    image, with writing beside it: pieces of strong ink apart from the lines, over SPECK of the image,
    the longest (along the lines) under BESIDE of the image's side; or, on a ruled page (printed lines
    the other way, or taken out before: `before`), with nothing beside it (an empty school page's
    margin line, read as a 1). A lone long stroke (a 1 drawn from the top of a canvas to its bottom,
    no page's lines around it) stays, as do strokes as long as the lines (a hatch) and a
    stroke with writing attached to it (a 7's bar across the photo). `x` itself comes back when there
    is none. `lines`: the page's printed lines (`printed_lines`), when known: where there are many,
    none is lone. `before`: `x` before a ruled page's lines were taken out, which took a part of a
    darker line along them too (a red header line over blue rules): such a line crosses the image
    there, and what stays of it goes once it crosses COVERAGE of `x`."""
    ruled = before is not None or any(level is not None for level in lines)
    for turned, level in zip((False, True), lines):
        if level is not None:
            continue
        y = x.T if turned else x
        on_lines = lone_lines(y, None if before is None else before.T if turned else before, ruled)
        if on_lines is not None:
            y = np.where(on_lines, 0, y).astype(np.float32)
            x = y.T if turned else y
    return x


def lone_lines(x: np.ndarray, before: np.ndarray | None = None, ruled: bool = False) -> np.ndarray | None:
    """The pixels of `x`'s lone horizontal printed lines (`without_margins`; `before` as there), or None
    when it has none. `ruled`: the page has many printed lines (`line_level`), where such a line with
    nothing at all beside it is the page's too (an empty school page's margin line, not a 1)."""
    mask = x > RESIDUE
    # A line across ACROSS of the image has ink in as many of its columns, at any tilt.
    if mask.any(0).mean() < (ACROSS if before is None else COVERAGE):
        return None
    slope, bands = line_bands(mask, least=1)
    if not bands or len(bands) >= MIN_LINES:
        return None
    rows = shear(x, slope)
    on_line = np.zeros(int(rows.max()) + 1, dtype=bool)
    for a, b in bands:
        on_line[max(0, a - 1):b + 2] = True  # and a row beyond: a long line drifts off the slope found
    on_lines = on_line[rows] & mask
    if (on_lines if before is None else on_line[rows] & (before > RESIDUE)).any(0).mean() < ACROSS:
        return None
    lengths = lengths_beside(x, on_lines)
    return on_lines if lengths and max(lengths) < BESIDE * x.shape[1] or ruled and not lengths else None


def lengths_beside(x: np.ndarray, on_lines: np.ndarray) -> list[int]:
    """The lengths along the horizontal lines `on_lines` of the pieces of strong ink that stand apart
    from them (do not touch them), over SPECK of the image: writing beside them when all are under
    BESIDE of the image's width."""
    labels, _ = ndimage.label(np.where(on_lines, 0, x) > STRONG, EIGHT)
    touching = np.unique(labels[ndimage.binary_dilation(on_lines, EIGHT)])
    speck = SPECK * max(x.shape)
    return [cols.stop - cols.start for i, (rows, cols) in enumerate(ndimage.find_objects(labels))
            if i + 1 not in touching and max(rows.stop - rows.start, cols.stop - cols.start) >= speck]


def without_remnants(x: np.ndarray, brightness: float) -> np.ndarray:
    """A lined page's ink without what the lines (and the page's edges) left: everything under
    RESIDUE, and pieces under half the largest piece's size that are no brighter than twice the lines
    or reach within EDGE of the image's border (the page's edge in a tilted photo, a line's end). A pen's strokes are brighter: a
    detached bar or dot of a digit stays."""
    x[x < RESIDUE] = 0
    labels, n = ndimage.label(x > 0, structure=np.ones((3, 3), dtype=bool))
    if n < 2:
        return x
    sizes = label_sums(labels, n)
    peaks = np.asarray(ndimage.maximum(x, labels, np.arange(1, n + 1)))
    h, w = x.shape
    my, mx = max(1, round(EDGE * h)), max(1, round(EDGE * w))
    edge = np.zeros(n + 1, dtype=bool)
    edge[np.concatenate([labels[:my].ravel(), labels[-my:].ravel(), labels[:, :mx].ravel(), labels[:, -mx:].ravel()])] = True
    remnant = ((peaks <= 2 * brightness) | edge[1:]) & (sizes < 0.5 * sizes.max())
    x[remnant[labels - 1] & (labels > 0)] = 0
    return x


def without_thin_lines(ink: np.ndarray) -> np.ndarray:
    """Ink without what is thinner than 3 pixels (a grid's printed lines in a photo's fine decode, where
    the pen's strokes are several pixels wide): an opening finds the strokes, and the ink near them is kept."""
    strokes = ndimage.grey_opening(ink, size=(3, 3)) > 0.5 * ink.max()
    return ink * ndimage.binary_dilation(strokes, np.ones((3, 3), bool), iterations=2)
