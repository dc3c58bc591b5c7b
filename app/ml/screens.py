"""A screenshot's bars, taken out of its gray image before anything else looks at it (on every route).

A phone's screenshot of a sketch app holds, besides the canvas with the writing, a status bar (the
time, the battery), an app bar (a back arrow, a title, icons), a toolbar (round tool buttons, a palette
of coloured disks; on a tablet, a panel down one side) and a navigation bar. What they hold is the
size of a digit or larger, and a row of tool buttons looks like a second line of writing: left in,
they set the upload's polarity, were cropped with a digit or read as one, and a number in a screenshot
was refused as several lines.

Only a digital image is looked at: one whose commonest colour (the canvas's) covers DIGITAL of it,
exactly (EXACT); a photo's noise and shading never do. Two kinds of bar there take the canvas's colour:

- **Coloured bars** (`chrome_span`): a band of rows (or, for a side panel, of columns) within ZONE of an
  edge, at least BAR_MIN of the image thick (a ruled page's line is thinner), each row one colour
  over UNIFORM of it (between its buttons) and at one of its ends, OFF from the canvas's colour and
  OFF_INK from the writing's (the bar of a 7 cropped close is the pen's colour); with them, the rows
  between them and the edge (a status bar in the canvas's colour above an app bar).
- **Bars in the canvas's colour** (a flat design: only what they hold shows), on a screen (TALL) known
  by its coloured bars or its status bar (`status_bar`): bands of things across the width (`across`)
  within TOP of the top edge, all of them (a status bar, an app bar), and at the bottom, within BOTTOM of
  it, the one nearest the edge (a toolbar; what stands above it may be writing), unless nothing else
  would be left (then it is the writing).

Measured by `python -m bench.surroundings` (phone screenshots, `support.images.phone_screenshot`).
"""

import numpy as np

from app.ml.rules import spaced

LOOK, SAMPLE = 640, 256  # (see `without_chrome`)
SCREEN = 200  # an image smaller than this on either side is no screenshot (a crop, a canvas export; a JPEG
# screenshot decoded at 1/4 scale, `preprocess.decode`, is larger)
DIGITAL = 0.4  # the canvas's colour, one 8-bit level, covers at least this share of a digital image (a
# screenshot's 0.58-0.98 here; a photo's 0.02-0.11, 0.53 for a 12 MP one decoded at 1/8; a line of digits
# rendered on paper whose light falls off, 0.12-0.29) ...
EXACT = 0.9  # ... and this share of the pixels within two levels of it (a screenshot's, a canvas's and a
# scan's 0.97-1; a photo's 0.2-0.54)
EQUAL = 0.03  # a bar's row is at its colour to within this (a JPEG-saved screenshot's blocks wobble)
UNIFORM = 0.3  # a bar's row is at one colour over this share of its length (between its buttons) ...
OFF = 0.03  # ... which stands this far off the canvas's colour ...
OFF_INK = 0.1  # ... and this far off the writing's
BAR_MIN = 0.01  # a bar is at least this share of the image's side thick
ZONE = 0.25  # bars are looked for within this share of the image's side from each edge
ENDS = 3  # pixels at each end of a row that are at the bar's colour
TALL = 1.3  # a screen's longer side is at least this many times its shorter (a phone's 2.2, a tablet's 1.33-1.43) ...
TOP, BOTTOM = 0.15, 0.25  # ... where a band of things across the width (SPAN) within these shares of its height ...
SPAN = 0.6  # ... from the top and the bottom edge is its status bar, app bar, toolbar or navigation bar; ...
PANEL = (0.3, 0.6)  # ... so is one across this share of the width that fills this share of its box (a floating toolbar)
GAP = 0.005  # things off the canvas under this share of the height apart are one band
STATUS, SIDES = 0.05, 0.15  # a screen without coloured bars is known by its status bar (`status_bar`)


def without_chrome(x: np.ndarray) -> np.ndarray:
    """A screenshot's gray image (in [0, 1]) with its bars along the edges in the canvas's colour (module
    docstring); any other image as it is. The bars are looked for on every k-th pixel (at most LOOK on the
    longer side: a phone's screenshot is 1080x2340 or more), the canvas's colour on every s-th (SAMPLE)."""
    h, w = x.shape
    if min(h, w) < SCREEN:
        return x
    s = -(-max(h, w) // SAMPLE)
    canvas = canvas_level(x[::s, ::s])
    if canvas is None:
        return x
    k = -(-max(h, w) // LOOK)
    small = np.ascontiguousarray(x[::k, ::k])
    rows, cols = chrome_span(small, canvas), chrome_span(np.ascontiguousarray(small.T), canvas)
    bare = erased(erased(small, rows, canvas).T, cols, canvas).T
    if rows is not None or cols is not None or status_bar(small, canvas):
        rows = items_span(small, bare, canvas, rows)
    if rows is None and cols is None:
        return x
    out = erased(x, at_full_scale(rows, k, h), canvas)
    return erased(out.T, at_full_scale(cols, k, w), canvas).T


def erased(x: np.ndarray, span: tuple[int, int] | None, canvas: float) -> np.ndarray:
    """A copy of `x` with its rows outside `span` (first, last + 1) in the canvas's colour; `x` if None."""
    if span is None:
        return x
    out = x.copy()
    out[:span[0]] = canvas
    out[span[1]:] = canvas
    return out


def at_full_scale(span: tuple[int, int] | None, k: int, n: int) -> tuple[int, int] | None:
    """A span found on every k-th row, over the n rows of the image: the rows between a sampled row of a
    bar and the next sampled row go with the bar."""
    if span is None:
        return None
    top, bottom = span
    return min(n, top * k), n if bottom * k >= n else (bottom - 1) * k + 1


def items_span(x: np.ndarray, bare: np.ndarray, canvas: float, rows: tuple[int, int] | None) -> tuple[int, int] | None:
    """`rows` (the span the coloured bars leave) narrowed by the bars in the canvas's colour on a screen
    (TALL): things across the top of the image as it came, all of them (a side panel taken out may have cut
    its status bar short), and at the bottom, once the coloured bars are gone (`bare`), the band nearest
    its edge (a toolbar floating above a navigation bar): what stands above that may be writing; not when
    nothing would stand above it (a number written low on a screen with no toolbar)."""
    h, w = x.shape
    if max(h, w) < TALL * min(h, w):
        return rows
    top, bottom = rows or (0, h)
    top = max([top] + [b for a, b in across(x, canvas) if b <= TOP * h])
    toolbar = max((a for a, b in across(bare, canvas) if a >= (1 - BOTTOM) * h), default=h)
    if (np.abs(bare[top:min(bottom, toolbar)] - canvas) > OFF).any():  # else that band is the writing
        bottom = min(bottom, toolbar)
    return (top, bottom) if (top, bottom) != (0, h) else None


def canvas_level(x: np.ndarray) -> float | None:
    """The commonest level of a digital image (DIGITAL, EXACT), or None for any other image."""
    counts = np.bincount(np.clip(np.rint(x * 255), 0, 255).astype(np.intp).ravel(), minlength=256)
    level = int(np.argmax(counts))
    if counts[level] < DIGITAL * x.size or counts[level] < EXACT * counts[max(0, level - 2):level + 3].sum():
        return None
    return level / 255


def bar_rows(x: np.ndarray, canvas: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row: whether it is a bar's row (one colour over UNIFORM of it and at ENDS pixels of one end,
    OFF from the canvas: a side panel runs from the app bar to the bottom edge), and that colour (its
    first or last pixel's, whichever more of the row shares)."""
    first, last = x[:, 0], x[:, -1]
    shares = [(np.abs(x - end[:, None]) <= EQUAL).mean(axis=1) for end in (first, last)]
    level, share = np.where(shares[0] >= shares[1], first, last), np.maximum(*shares)
    at_end = ((np.abs(x[:, :ENDS] - level[:, None]) <= EQUAL).all(axis=1)
              | (np.abs(x[:, -ENDS:] - level[:, None]) <= EQUAL).all(axis=1))
    return at_end & (share >= UNIFORM) & (np.abs(level - canvas) > OFF), level


def bands(flags: np.ndarray, gap: int = 0) -> list[tuple[int, int]]:
    """The runs of True in a 1-D bool array, as (start, stop); runs under `gap` apart taken as one (the
    anti-aliased rim of a row of disks, a pixel below them: `rules.spaced`)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return spaced(list(zip(edges[::2].tolist(), edges[1::2].tolist())), gap)


def chrome_span(x: np.ndarray, canvas: float) -> tuple[int, int] | None:
    """(first, last + 1) of the rows left to the canvas between the bars along the top and the bottom
    edge; None when there are none."""
    h = len(x)
    flags, levels = bar_rows(x, canvas)
    found = [(a, b) for a, b in bands(flags) if b - a >= BAR_MIN * h and (b <= ZONE * h or a >= (1 - ZONE) * h)]
    if not found:
        return None
    inner = np.ones(h, dtype=bool)
    for a, b in found:
        inner[a:b] = False
    writing = ink_level(x[inner], canvas)
    found = [(a, b) for a, b in found if writing is None or abs(float(np.median(levels[a:b])) - writing) > OFF_INK]
    top = max((b for a, b in found if b <= ZONE * h), default=0)
    bottom = min((a for a, b in found if a >= (1 - ZONE) * h), default=h)
    return (top, bottom) if (top, bottom) != (0, h) else None


def status_bar(x: np.ndarray, canvas: float) -> bool:
    """Things off the canvas within STATUS of the image's top, between rows all canvas, reach within SIDES
    of its left and of its right edge: a phone's status bar (the time at the left, the battery at the
    right) in the canvas's colour."""
    h, w = x.shape
    off = np.abs(x[:int(STATUS * h) + 1] - canvas) > OFF
    end = max((b for a, b in bands(off.any(axis=1), round(GAP * h)) if b <= STATUS * h), default=0)
    cols = np.flatnonzero(off[:end].any(axis=0))
    return bool(end and cols[0] <= SIDES * w and cols[-1] >= (1 - SIDES) * w)


def across(x: np.ndarray, canvas: float) -> list[tuple[int, int]]:
    """The bands of things across the width (SPAN, or PANEL) within TOP of the top edge or BOTTOM of the
    bottom edge, each band rows off the canvas between rows all canvas (GAP)."""
    h, w = x.shape
    off = np.abs(x - canvas) > OFF
    found = []
    for a, b in bands(off.any(axis=1), round(GAP * h)):
        if b > TOP * h and a < (1 - BOTTOM) * h:
            continue
        cols = np.flatnonzero(off[a:b].any(axis=0))
        span = cols[-1] + 1 - cols[0]
        if span >= SPAN * w or span >= PANEL[0] * w and off[a:b, cols[0]:cols[-1] + 1].mean() >= PANEL[1]:
            found.append((a, b))
    return found


def ink_level(x: np.ndarray, canvas: float) -> float | None:
    """The level furthest from the canvas's in `x` (the writing's colour, where it is drawn with one), or
    None when nothing stands off the canvas."""
    if x.size == 0:
        return None
    far = np.abs(x - canvas)
    i = int(np.argmax(far))
    return float(x.flat[i]) if far.flat[i] > OFF else None
