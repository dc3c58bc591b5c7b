"""What stands around the writing in an upload and is not part of it, taken out of the cleaned ink
(white on black in [0, 1]) before the digits are cropped, on every route:

- a **bar** along the image's edge: a screenshot's title bar or toolbar, a table's edge along the
  photo's side;
- **small things along the image's edges, apart from the writing**: a drawing app's toolbar icons, a
  phone's status bar;
- a **ring or box drawn around** the writing (a circled answer, a number in a box);
- a line drawn **under** the writing, or two (an underlined answer).

Pieces are the separate pieces of strong ink (over `STRONG`, 8-connected); the writing is what is left.
Nothing is taken out when nothing else would be left, and a ring around a single ring (a target, a 0
drawn in a circle) is kept: what is inside is no digit that the ring hides. Measured in
reports/preprocessing.md (*What stands around the writing*) and by `python -m bench.surroundings`.
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from app.ml.ink import EIGHT, INK_FLOOR, STRONG, Box, label_sums

BAR_SPAN = 0.9  # a piece touching the image's edge that runs along this share of that side ...
BAR_THICK = 0.15  # ... and is at most this share of the other side thick is a bar, not writing
EDGE = 0.15  # a piece within this share of the image's side from an edge that the writing does not reach ...
APART = 0.25  # ... at least this share of the writing's height above or below it ...
SMALL = 0.3  # ... and under this share of the writing's tallest piece tall (as `numbers.TALL`: a speck, not a line) is clutter
LINE = 0.25  # an underline is at most this share of its width tall ...
UNDER = 0.15  # ... its top at most this share of the writing's height above the writing's bottom ...
UNDER_WIDTH = (0.4, 2.5)  # ... as wide as at least the first times the writing's width, at most the second its longer side ...
UNDER_THICK = 0.5  # ... and at most this share of the writing's height thick
INSIDE = 0.05  # a ring is taken out only when what it holds has at least this share of its ink ...
HELD = 0.3  # ... and at least this share of its height (a 0 with a dot inside is a 0)
CLOSE = 0.04  # a ring's gaps under twice this share of its size are closed before what it holds is looked for


@dataclass(frozen=True)
class Piece(Box):
    """A piece of strong ink: its box, its label in `pieces_of`'s labels and its ink's sum."""

    label: int
    mass: float


def pieces_of(x: np.ndarray) -> tuple[np.ndarray, list[Piece]]:
    """The labels of `x`'s pieces of strong ink and the pieces; none listed when there is only one."""
    labels, n = ndimage.label(x > STRONG, EIGHT)
    if n < 2:
        return labels, []
    masses = label_sums(labels, n, x)
    return labels, [Piece(sl[0].start, sl[1].start, sl[0].stop, sl[1].stop, i + 1, float(m))
                    for i, (sl, m) in enumerate(zip(ndimage.find_objects(labels), masses))]


def without_clutter(x: np.ndarray) -> np.ndarray:
    """`x` without the bars, edge clutter, ring or box and underlines around its writing (module docstring)."""
    labels, pieces = pieces_of(x)
    if len(pieces) < 2:
        return x
    kept = [p for p in pieces if not is_bar(p, x.shape)] or pieces
    kept = without_edge_clutter(kept, x.shape)
    kept = without_ring(kept, labels)
    kept = without_underlines(kept)
    if len(kept) == len(pieces):
        return x
    writing = np.isin(labels, [p.label for p in kept])
    # A dropped piece's soft edges (under STRONG) go with it, and so does faint ink that no kept piece
    # reaches (a screenshot's light gray frames, what a bar's edge left), as for one digit
    # (`preprocess.without_faint_pieces`).
    dropped = ndimage.binary_dilation(np.isin(labels, [p.label for p in pieces if p not in kept]), iterations=2)
    faint, _ = ndimage.label(x > INK_FLOOR, EIGHT)
    attached = np.isin(faint, np.unique(faint[writing]))
    return np.where(attached & (writing | ~dropped), x, 0).astype(np.float32)


def is_bar(p: Piece, shape: tuple[int, int]) -> bool:
    """A piece lying along an edge of the image (touching it) over BAR_SPAN of it, at most BAR_THICK thick
    (a digit's stroke drawn from the top of the image to its bottom is not one)."""
    h, w = shape
    across = (p.top == 0 or p.bottom == h) and p.width >= BAR_SPAN * w and p.height <= BAR_THICK * h
    down = (p.left == 0 or p.right == w) and p.height >= BAR_SPAN * h and p.width <= BAR_THICK * w
    return across or down


def edges_within(p: Piece, shape: tuple[int, int]) -> set[str]:
    """The image's edges along which `p` lies wholly within EDGE of the image's side."""
    h, w = shape
    return {edge for edge, inside in (("top", p.bottom <= EDGE * h), ("bottom", p.top >= (1 - EDGE) * h),
                                      ("left", p.right <= EDGE * w), ("right", p.left >= (1 - EDGE) * w)) if inside}


def edges_entered(p: Piece, shape: tuple[int, int]) -> set[str]:
    """The image's edges within EDGE of which some of `p` lies."""
    h, w = shape
    return {edge for edge, enters in (("top", p.top < EDGE * h), ("bottom", p.bottom > (1 - EDGE) * h),
                                      ("left", p.left < EDGE * w), ("right", p.right > (1 - EDGE) * w)) if enters}


def touches_edge(p: Piece, shape: tuple[int, int]) -> bool:
    return p.top == 0 or p.left == 0 or p.bottom == shape[0] or p.right == shape[1]


def without_edge_clutter(pieces: list[Piece], shape: tuple[int, int]) -> list[Piece]:
    """The pieces without the small ones (under SMALL of the writing's tallest piece) that lie along an
    edge of the image (within EDGE of its side) which the writing does not reach, above or below its
    rows and at least APART of its height away: a toolbar's icons above or below a drawing, a phone's
    status bar. The writing is the piece with the most ink and the pieces on its rows (a line
    of digits). A second line of writing stays (the number route refuses several lines), as do a comma
    or a dot among the digits, a digit's detached bar (close to it), a small digit ending a line (on its
    rows), and anything in the middle of the image."""
    main = max(pieces, key=lambda p: p.mass)
    line = [p for p in pieces if p.top < main.bottom and main.top < p.bottom]
    if any(touches_edge(p, shape) for p in line):
        return pieces  # writing cut by the image's edge is in no app's frame (a block of colour noise read as a 1)
    top, bottom = min(p.top for p in line), max(p.bottom for p in line)
    reached = set().union(*(edges_entered(p, shape) for p in line))
    margin, small = APART * (bottom - top), SMALL * max(p.height for p in line)
    return [p for p in pieces if p in line or not edges_within(p, shape) - reached
            or p.top < bottom + margin and top - margin < p.bottom or p.height >= small]


def within(p: Piece, ring: Piece) -> bool:
    """`p`'s box lies in `ring`'s."""
    return ring.top <= p.top and p.bottom <= ring.bottom and ring.left <= p.left and p.right <= ring.right


def holds(ring: Piece, p: Piece, filled: np.ndarray, labels: np.ndarray) -> bool:
    """`p` (within `ring`'s box) lies in what `ring` encloses (`filled`: `enclosed`)."""
    inner = labels[ring.top:ring.bottom, ring.left:ring.right] == p.label
    return bool(filled[inner].all())


def enclosed(ring: Piece, labels: np.ndarray) -> np.ndarray:
    """What `ring` encloses, over its box: its holes filled after its gaps under 2 x CLOSE of its size
    are closed (a circle drawn by hand whose end overshoots beside its start, or stops short of it)."""
    mask = labels[ring.top:ring.bottom, ring.left:ring.right] == ring.label
    k = max(1, round(CLOSE * max(ring.height, ring.width)))
    grown = ndimage.binary_dilation(np.pad(mask, k), iterations=k)
    return ndimage.binary_fill_holes(grown)[k:-k, k:-k]


def without_ring(pieces: list[Piece], labels: np.ndarray) -> list[Piece]:
    """The pieces without one drawn around all the others (a circle or a box around the writing), unless
    what it holds is small beside it (INSIDE, HELD: a dotted 0's dot) or is itself a lone ring (a
    target, a circled 0)."""
    if len(pieces) < 2:
        return pieces
    for ring in sorted(pieces, key=lambda p: -p.mass):
        others = [p for p in pieces if p is not ring]
        if (not all(within(p, ring) for p in others) or sum(p.mass for p in others) < INSIDE * ring.mass
                or max(p.bottom for p in others) - min(p.top for p in others) < HELD * ring.height):
            continue
        filled = enclosed(ring, labels)
        if all(holds(ring, p, filled, labels) for p in others):
            return pieces if len(others) == 1 and is_ring(others[0], labels) else others
    return pieces


def is_ring(p: Piece, labels: np.ndarray) -> bool:
    """A piece whose holes are at least half of its filled area: a hollow loop such as an O or a 0."""
    mask = labels[p.top:p.bottom, p.left:p.right] == p.label
    holes = ndimage.binary_fill_holes(mask) & ~mask
    return holes.sum() >= 0.5 * (holes.sum() + mask.sum())


def without_underlines(pieces: list[Piece]) -> list[Piece]:
    """The pieces without the lowest one while it is a line drawn under all the others (LINE, UNDER,
    UNDER_WIDTH, UNDER_THICK): an underline, a double one. An "=" keeps its lower bar: it is as thick
    as the upper."""
    while len(pieces) > 2 and len(rest := without_underline(pieces)) < len(pieces):
        pieces = rest
    return without_underline(pieces)


def without_underline(pieces: list[Piece]) -> list[Piece]:
    """`without_underlines`, one line."""
    if len(pieces) < 2:
        return pieces
    line = max(pieces, key=lambda p: p.bottom)
    rest = [p for p in pieces if p is not line]
    top, bottom = min(p.top for p in rest), max(p.bottom for p in rest)
    width = max(p.right for p in rest) - min(p.left for p in rest)
    height = bottom - top
    under = (line.height <= LINE * line.width and line.top >= bottom - UNDER * height
             and UNDER_WIDTH[0] * width <= line.width <= UNDER_WIDTH[1] * max(width, height)
             and line.height <= UNDER_THICK * height)
    return rest if under else pieces
