"""Reading a line of handwritten digits: the line model reads the whole line, the gate says whether
there is any digit in it at all.

1. `read_line`: the upload's ink at a working scale (same decoding, polarity and background removal
   as one digit; in a 12 MP photo of a notebook page, a window around the line of writing read from
   a finer decode: `line_ink`); its glyphs (connected pieces of ink merged into left-to-right columns,
   specks dropped); and the strip the line model reads (`app.ml.lines.line_image`: straightened, cropped,
   MNIST-scaled). Ink in several lines (a band of empty rows between them: `count_lines`) is refused,
   422 `several_lines`, rather than read as one line (`not_a_digit` where the gate holds none of its
   tall pieces a digit: `SeveralLines`, `no_digit_in`).
2. The line model (`app.ml.nets.LineNet`, trained with CTC on rendered lines of MNIST training
   digits: touching, overlapping, any spacing) gives per-frame probabilities for each of the strip's
   views (`app.ml.lines.views`: three widths); the digits read are the views' consensus
   (`app.ml.lines.consensus`), each located between its neighbours in the view that read them
   (`app.ml.lines.spans`). Where the line's glyphs are its digits one for one, the digit model (with the
   gate's digits, as `/predict` reads one digit) reads each glyph too, and a digit it reads otherwise
   changes when the two models' log-probabilities together favour that (`glyph_reading`).
3. The gate scores every glyph whole: a line whose every glyph is surely not a digit nor a group of
   digits (letters, a doodle; P >= SURELY_NOT) is refused (422 `not_a_digit`), whatever the line
   model would make of it (it reads a W as 111); so is a line with two such glyphs, or one that is
   certainly not (P >= CERTAINLY_NOT): a word whose l and o read as 1 and 0 ("hello" was "170110"); and
   a line none of whose glyphs the gate holds a digit, each at P >= ALONE_NOT (a scribble or a sign
   alone, judged as one thing is on /predict; the coloured blocks of a photo of nothing). A
   glyph holding a filled area counts as surely not a digit (a face's hair). A line of BARS or more
   glyphs nearly all straight strokes of unequal widths is a barcode's bars (each a 1 to both models),
   refused too.
4. The string's confidence is its CTC probability p (summed over every alignment, the log averaged
   over the views), calibrated by
   Platt scaling of log(-log p) fitted on validation strings (`Calibration`, read from
   models/number.json by `read_number_card`); each digit's is the line model's share of that digit among the
   non-blank outputs of the frames it spans.

NumPy and SciPy only.
"""

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from app.ml import lines
from app.ml.cards import read_fitted_card
from app.ml.clutter import without_clutter
from app.ml.ink import (
    EIGHT,
    Glyph,
    around,
    columns,
    components,
    label_sums,
    merge,
    row_runs,
    straight_stroke,
    stroke_width,
)
from app.ml.lines import Strip, line_image
from app.ml.preprocess import (
    FINE_SIDE,
    INK_FLOOR,
    InputError,
    border_level,
    downscale_to,
    glyph_input,
    ink_box,
    is_page_photo,
    isolate_ink,
    lift_ink,
    no_ink,
    read_upload,
    spans_page,
    without_faint_pieces,
)
from app.ml.rules import is_grid, printed_lines, remove_rules, without_thin_lines

CARD = "number.json"  # beside the checkpoints: how the number reader was calibrated and how it scored
LINE_SIDE = 1024  # the longer side of the working image (a 20-digit line keeps ~50 px per digit)
TALL = 0.3  # a piece at least this share of the tallest one's height is writing, not a bar, dot or speck
LINE_GAP = 0.35  # two lines of writing: a band of empty rows at least this share of a digit's height between them
WRITING = 0.6  # in a large photo, ink whose smoothed level reaches this share of the strongest is writing
# (a notebook page's lines, photographed from afar, are thinner and fainter at LINE_SIDE)
MARK = 0.6  # a mark written between the digits (',' '.' '-') is under this share of their height tall
PEN_SHARE = 0.5  # and drawn at least this share of their stroke width thick
MISREAD = (",", "-", "+", "=", "(", ")")  # marks taken out of the ink before the line model reads it, which
# reads them as digits (a comma or a bracket as a 1, a dash or '=' as a 2, '+' as a 4); it passes over a dot,
# which stays (so a speck taken for one never changes the digits read)
LEADING = ("-", "+", "(")  # marks that may stand before every digit (a minus sign, a phone number's plus)
BOW = 0.08  # a bracket's middle stands this share of its height or more to one side of its ends (MNIST training
# digits alone that `bracket_of` names: 1s 0.7% '(' and 0.2% ')', 6s 0.6% '(', 3s, 7s and 9s 0.2-0.3% ')', others
# under 0.1%: brackets are named in pairs only)
BRACKET_LEAN = 0.15  # a bracket's ends stand this share of its height apart sideways at most
CROSS_OFF = 0.05  # a '+' has at most this share of its ink off its two arms in any corner between them...
CROSS_ENDS = 0.2  # ...and of the ink of its outermost rows and columns off an arm. With every other test of
# `plus_cross`: 8 of 10,000 MNIST test digits scaled to 16-90 px and set 0.4-1 of the band tall anywhere in
# its middle are taken for a '+' (open 4s, a few 9s and 2s); 977 of 1,000 crosses drawn as `bench.marks`
# draws them, 0.3-1x scaled, are
THIN_MARK = 0.3  # a '+', '=' or bracket is drawn at least this share of the digits' stroke width thick (their
# shapes are no speck's or broken stroke's, and a thin stroke's measured width falls more than a dot's)
SURELY_NOT = 0.99  # a line is refused when the gate gives every glyph, or two of them, at least this
# P(not a digit): stricter than one digit's rejection threshold, since touching digits make odd glyphs
# (a "01" read as one glyph has P 0.83) while letters and doodles score ~1.0
CERTAINLY_NOT = 0.999  # ...or one glyph at least this. Over the number card's 3,600 validation lines, two
# glyphs >= SURELY_NOT never stand in one line, and 4 lines (0.11%) hold a glyph >= CERTAINLY_NOT (an odd
# MNIST digit, 0.9991-0.9998; a drawn W scores 0.9998 too); of 240 typed words (5 fonts) 5 were refused
# before, 123 are now.
ALONE_NOT = 0.8  # a line whose every glyph is at least this P(not a digit) is refused: no glyph speaks
# for digits (one glyph alone is judged as one digit is on /predict). The lowest of 0.5-0.98 refusing at
# most 0.1% of 2,000 validation lines of 1-7 digits (2 lines of one glyph; 0.65 refused 3); of their
# 1,690 lines of 2-7 glyphs none has every glyph over 0.6
GLYPH_WEIGHT = 4.0  # the digit model's log-probabilities of a line's digits, read in their own glyphs, against
# the line model's (the string's CTC log-probability): chosen on the number card's validation lines (2-7 digits,
# 96.67% -> 97.07% exact; 1-20 digits, 93.5% -> 93.67%; weights 3, 5, 6 and 8 gained less over both)
MAX_CHANGES = 3  # digits the two models read otherwise in one line, up to which every set of changes is scored
ASKED = 40  # ink in several lines with more tall pieces than this is writing (a page): the gate is not asked
BARS = 16  # a line of this many glyphs or more, STRAIGHT_SHARE of them straight strokes, is a barcode's
STRAIGHT_SHARE = 0.9  # bars (16-53 glyphs in `support.images.barcode_photo`s), whose widths spread over
BAR_WIDTHS = 2.0  # this ratio or more (90th over 10th percentile; barcodes 3.75-7.75, twenty 1s drawn 1.03-1.15)


@dataclass
class LineInk:
    """An upload's ink at the working scale: the whole upload, or a window around its line of writing."""

    ink: np.ndarray  # white ink on black in [0, 1]
    scale: float  # working pixels per upload pixel
    origin: tuple[float, float]  # the working image's top-left corner in the upload's pixels (x, y)
    width: int  # the upload's size after EXIF orientation
    height: int
    inverted: bool


@dataclass(frozen=True)
class Mark:
    """A mark written among the digits, which the line reads without: ',' '.' or '-' (`mark_of`)."""

    mark: str
    glyph: Glyph


@dataclass
class Line(LineInk):
    """A line of writing ready to read: its ink (its marks taken out), its glyphs, its marks and the
    strips the line model reads."""

    glyphs: list[Glyph] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    views: list[Strip] = field(default_factory=list)  # the strips the line model reads: `strip` at several widths

    @property
    def strip(self) -> Strip:
        """The line as the line model reads it (its first view, at the line's own width)."""
        return self.views[0]


def line_ink(data: bytes, max_pixels: int) -> tuple[LineInk, list[Glyph]]:
    """An upload holding a line of digits, decoded and cleaned (`located_ink`; what stands around the
    writing taken out: `app.ml.clutter`; faint pieces away from the writing, as for one digit:
    `preprocess.without_faint_pieces`), and its pieces of ink (`components`). Raises InputError."""
    page, pieces = located_ink(data, max_pixels)
    ink = without_clutter(page.ink)
    if ink is not page.ink:
        pieces = components(ink)
    if pieces:
        # A piece that stays under FAINT is no glyph (`components` takes ink over INK_LEVEL), but the
        # line's strip is cropped to ink over lines.INK: a desk's faint grain beside a page widened it.
        # Faint ink among the glyphs stays (a digit's faint stroke, which the line model reads).
        box = around(pieces)
        ink = without_faint_pieces(ink, near=padded((box.top, box.left, box.bottom, box.right)))
    page.ink = ink
    return page, pieces


def located_ink(data: bytes, max_pixels: int) -> tuple[LineInk, list[Glyph]]:
    """An upload holding a line of digits, decoded and cleaned, and its pieces of ink (`components`).
    Raises InputError.

    In a large photo (`preprocess.is_page_photo`: at least 2 * FINE_SIDE on its short side) with ink
    beyond its one line of writing and its margin (a notebook page's lines, too thin and faint at this
    scale to find, or what is left of them), the line is read again from that window in a decode at least FINE_SIDE
    large (a 12 MP JPEG's decode for LINE_SIDE already is: half scale), where the page's lines can be
    told from the pen's strokes (`writing_window`)."""
    x, background, width, height, inverted = read_upload(data, max_pixels, LINE_SIDE)
    # A line is wide: cropped close, its strokes stay thin in the flat-field's square copy, and framing
    # it gained nothing (reports/preprocessing.md: *A photo cropped close to the digit*).
    ink = isolate_ink(downscale_to(x, LINE_SIDE), background, framed=False)
    page = LineInk(ink, ink.shape[1] / width, (0.0, 0.0), width, height, inverted)
    pieces = components(ink)
    found = writing_box(ink, pieces) if is_page_photo(width, height) else None
    if found is not None and ink_outside(ink, margin := padded(found)):
        fine = x if min(x.shape) >= FINE_SIDE else read_upload(data, max_pixels, FINE_SIDE)[0]
        window = writing_window(fine, page, margin)
        if window is not None:
            return window
    return page, pieces


def padded(box: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
    """A line of writing's box (top, left, bottom, right) grown by its height on every side."""
    top, left, bottom, right = box
    pad = bottom - top
    return top - pad, left - pad, bottom + pad, right + pad


def ink_outside(ink: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    """Ink stands outside `box` (a page's lines, or what is left of them)."""
    top, bottom, left, right = ink_box(ink, INK_FLOOR)
    return top < box[0] or left < box[1] or bottom > box[2] or right > box[3]


def writing_box(ink: np.ndarray, pieces: list[Glyph]) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the one line of writing in `ink`: from the strongest piece of ink
    (smoothed, WRITING of the strongest level: the pen, not a page's faint lines), grown over the
    other strong pieces and the `pieces` of ink of a digit's size whose centres lie in its band of
    rows, each within 1.5 heights of the line so far. None when strong ink also stands outside that
    band (several lines of writing: not for a window to choose one)."""
    rows, cols = ink.shape[0] // 2 * 2, ink.shape[1] // 2 * 2
    smooth = ink[:rows, :cols].reshape(rows // 2, 2, cols // 2, 2).mean((1, 3))  # 2x2 means: a thin line fades
    # strong ink, its gaps of a pixel closed (a small digit's strokes break up at this scale)
    labels, n = ndimage.label(ndimage.binary_dilation(smooth > WRITING * smooth.max(), EIGHT))
    if n == 0:
        return None
    mass = label_sums(labels, n, smooth)
    boxes = [(2 * r.start, 2 * c.start, 2 * r.stop, 2 * c.stop) for r, c in ndimage.find_objects(labels)]
    first = int(np.argmax(mass))
    top, left, bottom, right = boxes[first]
    h = max(bottom - top, 6)
    lo, hi = top - h / 2, bottom + h / 2
    strong = [b for b, m in zip(boxes, mass) if m >= 0.05 * mass[first] and b[2] - b[0] >= TALL * h]  # not specks
    if any(not lo <= (t + b) / 2 <= hi for t, _, b, _ in strong):
        return None
    # Candidates: the strong pieces (a digit whose ink touches a page's line is one of these) and the
    # pieces of a digit's size (a thin pen's digit may be too faint to count as strong at this scale).
    band = strong + [(p.top, p.left, p.bottom, p.right) for p in pieces
                     if lo <= (p.top + p.bottom) / 2 <= hi and TALL * h <= p.height <= 3 * h and p.width <= 3 * h]
    grown = True
    while grown:
        grown = False
        for y0, x0, y1, x1 in band:
            if x0 <= right + 1.5 * h and x1 >= left - 1.5 * h and (x0 < left or x1 > right or y0 < top or y1 > bottom):
                top, bottom, left, right = min(top, y0), max(bottom, y1), min(left, x0), max(right, x1)
                grown = True
    return top, left, bottom, right


def writing_window(x: np.ndarray, page: LineInk, box: tuple[float, float, float, float]
                   ) -> tuple[LineInk, list[Glyph]] | None:
    """The ink in `box` (top, left, bottom, right in `page`'s pixels: a line of writing with a margin),
    read from `x`, the upload decoded at least FINE_SIDE large (gray, bright ink), and its pieces of
    ink; None when the ink there still spans it (no writing found, only a page's lines) or runs on
    past its side."""
    top, left, bottom, right = box
    f = x.shape[1] / page.ink.shape[1]  # fine pixels per working pixel
    y0, x0 = int(max(0, top * f)), int(max(0, left * f))
    window = x[y0:int(bottom * f), x0:int(right * f)]
    try:
        lifted = lift_ink(window, border_level(window))
    except InputError:
        return None
    lines = printed_lines(lifted)
    ink = without_thin_lines(lifted) if is_grid(lifted, lines) else remove_rules(lifted, lines)
    ink = downscale_to(ink, LINE_SIDE)
    pieces = components(ink)
    if spans_page(ink) or runs_on(ink, pieces):
        return None
    scale = page.scale * f * ink.shape[1] / window.shape[1]  # working pixels per upload pixel
    origin = (x0 / (page.scale * f), y0 / (page.scale * f))
    return LineInk(ink, scale, origin, page.width, page.height, page.inverted), pieces


def runs_on(ink: np.ndarray, pieces: list[Glyph]) -> bool:
    """Writing (`pieces`: the ink's `components`) that touches the window's left or right side: the
    line goes on beyond it."""
    tallest = max((p.height for p in pieces), default=0)
    return any(p.height >= TALL * tallest and (p.left == 0 or p.right == ink.shape[1]) for p in pieces)


def line_strip(data: bytes, max_pixels: int) -> Strip | None:
    """The strip the line model reads from an upload (training renders its lines through this)."""
    return line_image(line_ink(data, max_pixels)[0].ink)


def read_line(data: bytes, max_pixels: int) -> Line:
    """Decode and clean an upload holding a line of digits; raises InputError (422 when there is no ink,
    or when the ink stands in several lines)."""
    page, pieces = line_ink(data, max_pixels)
    if (n := count_lines(pieces)) > 1:
        tall = tall_pieces(pieces)
        raise SeveralLines(n, [glyph_input(page.ink, g) for g in tall] if len(tall) <= ASKED else [])
    glyphs, marks = line_marks(columns(pieces))
    glyphs = line_glyphs(glyphs)
    if misread := [m.glyph for m in marks if m.mark in MISREAD]:
        page.ink = without(page.ink, misread)
    strip = line_image(page.ink) if glyphs else None
    if strip is None:
        if marks:
            raise no_digit()
        raise no_ink("the image has no ink that stands out from the background")
    return Line(**vars(page), glyphs=glyphs, marks=marks, views=lines.views(strip))


def line_marks(glyphs: list[Glyph]) -> tuple[list[Glyph], list[Mark]]:
    """The line's columns of ink (`columns`) parted into glyphs and marks, judged against the band of
    rows the digits stand in (the median top and bottom of the columns at least 0.6 of the tallest's
    height) and their pen: a mark is a column that `mark_of` names, drawn at least PEN_SHARE of the
    digits' stroke width thick (a stray speck or a fragment of a broken stroke is thinner) and
    standing `apart` (a digit's detached foot or bar stands under or over its digit); a '-', '+' or '('
    anywhere, the others after a digit; brackets in pairs (`paired_brackets`)."""
    if len(glyphs) < 2:
        return glyphs, []
    tallest = max(g.height for g in glyphs)
    tall = [g for g in glyphs if g.height >= 0.6 * tallest]
    top, bottom = float(np.median([g.top for g in tall])), float(np.median([g.bottom for g in tall]))
    glyphs = with_two_piece_marks(glyphs, top, bottom - top)
    named = {i: mark for i, g in enumerate(glyphs) if (mark := mark_of(g, top, bottom - top))}
    if named:
        pen = float(np.median([stroke_width(g.mask) for g in tall]))
        named = {i: mark for i, mark in named.items()
                 if thickness(glyphs[i], mark) >= (THIN_MARK if mark in "+=()" else PEN_SHARE) * pen
                 and apart(glyphs[i], mark, glyphs, pen)}
        named = {i: mark for i, mark in named.items() if mark in LEADING
                 or any(o.right <= glyphs[i].left for j, o in enumerate(glyphs) if j not in named)}
        named = paired_brackets(named)
    return [g for i, g in enumerate(glyphs) if i not in named], [Mark(named[i], glyphs[i]) for i in sorted(named)]


def with_two_piece_marks(glyphs: list[Glyph], top: float, height: float) -> list[Glyph]:
    """The columns with each colon's two dots and each '='s two bars as one (`columns` keeps two pieces
    of one height apart)."""
    out: list[Glyph] = []
    for g in glyphs:
        if out and min(out[-1].right, g.right) - max(out[-1].left, g.left) > 0 and (
                colon_dots(pair := merge(out[-1], g), top, height) or equals_bars(pair, top, height)):
            out[-1] = pair
            continue
        out.append(g)
    return out


def mark_of(g: Glyph, top: float, height: float) -> str | None:
    """The mark a column of ink would be, beside digits standing between rows `top` and `top + height`:
    "-" a flat stroke across the middle of the band; "." a round dot and "," a short upright stroke
    (or one whose tail reaches below the band) in its lowest two-fifths, down to its bottom; ":" two
    dots one over the other (`colon_dots`); "=" two flat bars one over the other across the middle
    (`equals_bars`); "+" two strokes crossing there (`plus_cross`); "(" or ")" a curved stroke about as
    tall as the digits (`bracket_of`); None for anything else."""
    if colon_dots(g, top, height):
        return ":"
    if equals_bars(g, top, height):
        return "="
    if plus_cross(g, top, height):
        return "+"
    if bracket := bracket_of(g, height):
        return bracket
    if g.height >= MARK * height or g.width >= 1.5 * height or max(g.height, g.width) < 0.08 * height:
        return None
    middle = (g.top + g.bottom) / 2 - top
    if g.height <= min(0.5 * g.width, 0.25 * height) and g.width >= 0.25 * height and 0.3 * height <= middle <= 0.7 * height:
        return "-"
    if g.top - top < 0.6 * height or g.bottom - top < 0.75 * height or g.width > 0.4 * height:
        return None
    if round_dot(g, height):
        return "."
    if g.height >= 1.2 * g.width or g.bottom - top > 1.1 * height:
        return ","
    return None


def dots(g: Glyph) -> list[Glyph]:
    """The separate pieces of a column's ink (8-connected), in the column's own coordinates."""
    labels, _ = ndimage.label(g.mask, structure=EIGHT)
    return [Glyph(a.start, b.start, a.stop, b.stop, labels[a, b] == i + 1)
            for i, (a, b) in enumerate(ndimage.find_objects(labels))]


def round_dot(d: Glyph, height: float) -> bool:
    """A dot beside digits `height` tall (a '.', each of a colon's two): at most 0.3 of their height tall,
    filled, about as tall as wide. (How small it may be is `thickness`'s: half the digits' pen.)"""
    return d.height <= 0.3 * height and d.mask.mean() >= 0.45 and d.height <= 1.25 * d.width <= 1.9 * d.height


def colon_dots(g: Glyph, top: float, height: float) -> bool:
    """A colon (a time, 12:30): a column of exactly two round dots, the lower one in the band's lowest
    two-fifths, the upper one over it in the band, a dot's height or more of paper between them."""
    if g.height >= 0.9 * height or g.width > 0.4 * height:
        return False
    pieces = dots(g)
    if len(pieces) != 2 or not all(round_dot(b, height) for b in pieces):
        return False
    upper, lower = sorted(pieces, key=lambda b: b.top)
    low_top, low_bottom = g.top + lower.top - top, g.top + lower.bottom - top
    return (low_top >= 0.6 * height and low_bottom >= 0.75 * height and g.top + upper.top - top >= 0.05 * height
            and lower.top - upper.bottom >= min(upper.height, lower.height))


def equals_bars(g: Glyph, top: float, height: float) -> bool:
    """An '=': a column of exactly two flat bars (each at most half as tall as wide, at least a quarter
    of the digits' height wide), one over the other, the two together under 0.7 of the digits' height
    and centred across the band's middle. (Bars that touch are one piece, like a flat 0 or a small 4's
    top: not taken for one.)"""
    if g.height >= 0.7 * height or not 0.25 * height <= g.width <= 1.5 * height \
            or not 0.3 * height <= (g.top + g.bottom) / 2 - top <= 0.7 * height:
        return False
    pieces = dots(g)
    if len(pieces) != 2 or not all(b.height <= 0.5 * b.width and b.width >= 0.25 * height for b in pieces):
        return False
    upper, lower = sorted(pieces, key=lambda b: b.top)
    return min(upper.right, lower.right) - max(upper.left, lower.left) >= 0.5 * min(upper.width, lower.width)


def plus_cross(g: Glyph, top: float, height: float) -> bool:
    """A '+': two straight arms crossing inside each other's middle three-fifths (the middle of the rows,
    and of the columns, holding the most ink; each arm as thick as 0.75 of the pen and a pixel more on
    either side): each arm spans the column's box (at least 85% of it), at most CROSS_OFF of the ink lies
    in any corner between them, and at most CROSS_ENDS of the ink of its outermost rows (top and bottom)
    and columns (left and right) lies off an arm (an arm's end may lean a little); no loop, no blob of
    fat strokes; 0.25-0.95 of the digits' height tall, about as wide, its middle at 0.25-0.8 of the band.
    (A small 4's slanted stroke, a 2's curve, an x's diagonals or a T's ends stand off such arms.)"""
    if not (0.25 * height <= g.height <= 0.95 * height and 0.25 * height <= g.width <= height
            and 0.6 <= g.width / g.height <= 1.7 and 0.25 * height <= (g.top + g.bottom) / 2 - top <= 0.8 * height):
        return False
    m = g.mask
    row, col = middle_of_most(m.sum(1)), middle_of_most(m.sum(0))
    if not (0.2 * g.height <= row <= 0.8 * g.height and 0.2 * g.width <= col <= 0.8 * g.width):
        return False
    half = 0.75 * max(2.0, stroke_width(m)) + 1
    if 2 * half > 0.6 * min(g.height, g.width) or m.mean() > 0.5 or holes(m):
        return False  # arms too fat to tell from a blob (a 6 drawn with a fat pen); a loop (a 6, a 9, a closed 4)
    rows = np.abs(np.arange(g.height) - row) <= half  # the horizontal arm's rows
    cols = np.abs(np.arange(g.width) - col) <= half  # the vertical arm's columns
    if m[rows].any(0).mean() < 0.85 or m[:, cols].any(1).mean() < 0.85:
        return False
    above, left = np.arange(g.height) < row, np.arange(g.width) < col
    corners = [m[np.ix_(~rows & a, ~cols & b)].sum() for a in (above, ~above) for b in (left, ~left)]
    if max(corners) > CROSS_OFF * m.sum():
        return False
    k, j = max(1, int(0.15 * g.height)), max(1, int(0.15 * g.width))
    across = np.abs(np.arange(g.height) - row) <= half + 0.12 * g.height  # an arm's end may lean off its middle
    down = np.abs(np.arange(g.width) - col) <= half + 0.12 * g.width
    ends = [(m[:k], down[None, :]), (m[-k:], down[None, :]), (m[:, :j], across[:, None]), (m[:, -j:], across[:, None])]
    return all((end & ~arm).sum() <= CROSS_ENDS * end.sum() for end, arm in ends)


def middle_of_most(counts: np.ndarray) -> int:
    """The middle one of the places where `counts` (ink per row or column) comes within 10% of its most:
    a thick arm's middle row, not its first."""
    return int(np.median(np.flatnonzero(counts >= 0.9 * counts.max())))


def holes(mask: np.ndarray) -> int:
    """How many areas of paper the ink encloses (a 0 one, an 8 two)."""
    _, n = ndimage.label(np.pad(~mask, 1, constant_values=True))
    return n - 1


def bracket_of(g: Glyph, height: float) -> str | None:
    """'(' or ')': one curved stroke (a single run of ink across at least 75% of its rows) 0.75-1.6 of
    the digits' height tall and narrower than 0.45 of its own height, its ends at most BRACKET_LEAN of its height
    apart sideways and its middle rows BOW of its height or more to the left of them ('(') or to the
    right (')'). A 1 is straight: see `paired_brackets` for the rare curved one."""
    if not 0.75 * height <= g.height <= 1.6 * height or g.width >= 0.45 * g.height:
        return None
    m = g.mask[g.mask.any(1)]
    n = len(m)
    if n < 8 or (row_runs(m) == 1).mean() < 0.75:
        return None
    centres = (m * np.arange(m.shape[1])).sum(1) / m.sum(1)
    k = max(1, int(0.15 * n))
    upper, lower = centres[:k].mean(), centres[-k:].mean()
    bow = (centres[int(0.4 * n):int(0.6 * n) + 1].mean() - (upper + lower) / 2) / n
    if abs(upper - lower) > BRACKET_LEAN * n:
        return None
    return "(" if bow <= -BOW else ")" if bow >= BOW else None


def paired_brackets(named: dict[int, str]) -> dict[int, str]:
    """The marks named (column -> mark) with only the brackets that pair up left to right, '(' before
    its ')': a bracket alone is more likely a curved 1 (see BOW)."""
    opened, paired = [], set()
    for i in sorted(named):
        if named[i] == "(":
            opened.append(i)
        elif named[i] == ")" and opened:
            paired |= {opened.pop(), i}
    return {i: mark for i, mark in named.items() if mark not in "()" or i in paired}


def thickness(g: Glyph, mark: str) -> float:
    """How thick a mark is drawn: a dash's height, a comma's width, a dot's smaller side (a colon's:
    its smaller dot's, an '='s: its thinner bar's height), the stroke width of a '+' or a bracket."""
    if mark == ":":
        return min(min(b.height, b.width) for b in dots(g))
    if mark == "=":
        return min(b.height for b in dots(g))
    if mark in "+()":
        return stroke_width(g.mask)
    return {"-": g.height, ",": g.width}.get(mark, min(g.height, g.width))


def apart(g: Glyph, mark: str, glyphs: list[Glyph], pen: float) -> bool:
    """No other column stands over or under the mark (a comma's tail may lean under the digit before it
    by a quarter of its width), and a dash has half a pen's width of paper on either side (a 5's
    detached bar starts where its digit ends)."""
    allowed = {",": 0.25 * g.width, "-": -0.5 * pen}.get(mark, 0)
    return all(min(g.right, o.right) - max(g.left, o.left) <= allowed for o in glyphs if o is not g)


def without(ink: np.ndarray, pieces: list[Glyph]) -> np.ndarray:
    """`ink` with the pieces taken out, their faint edges (under INK_LEVEL) too."""
    mask = np.zeros(ink.shape, dtype=bool)
    for g in pieces:
        mask[g.top:g.bottom, g.left:g.right] |= g.mask
    out = ink.copy()
    out[ndimage.binary_dilation(mask, EIGHT, iterations=2)] = 0
    return out


def count_lines(pieces: list[Glyph]) -> int:
    """How many lines of writing the pieces of ink stand in: the tall pieces (at least TALL of the
    tallest: not a 5's bar, a dot or a speck) in order of their tops, a new line starting where a
    piece's top lies LINE_GAP of a digit's height below every piece above it. Pieces of one line
    overlap in height (a tilted line's neighbours too); two lines of digits have a band of empty rows
    between them."""
    if not pieces:
        return 0
    tall = sorted(tall_pieces(pieces), key=lambda p: p.top)
    gap = LINE_GAP * float(np.median([p.height for p in tall]))
    n, bottom = 1, tall[0].bottom
    for p in tall[1:]:
        n += p.top - bottom >= gap
        bottom = max(bottom, p.bottom)
    return n


def tall_pieces(pieces: list[Glyph]) -> list[Glyph]:
    """The pieces at least TALL of the tallest one's height: writing, not a 5's bar, a dot or a speck."""
    tallest = max(p.height for p in pieces)
    return [p for p in pieces if p.height >= TALL * tallest]


class SeveralLines(InputError):
    """Ink in several lines (422 `several_lines`), with each tall piece of it as a 28x28 input (`pieces`;
    none beyond ASKED pieces): where the gate holds none of them a digit (`no_digit_in`), the upload is no
    writing of digits at all (a face drawn with its eyes over its mouth), and is refused as such instead."""

    def __init__(self, n: int, pieces: list[np.ndarray]):
        super().__init__(422, f"the image holds {n} lines of writing; the number reader reads one line: send each "
                              "line as its own image (crop it)", "several_lines")
        self.pieces = pieces


def no_digit_in(p_not: list[float]) -> bool:
    """Pieces none of which the gate holds a digit alone (P(not a digit) >= ALONE_NOT each); False for none."""
    return bool(p_not) and all(p >= ALONE_NOT for p in p_not)


def line_glyphs(glyphs: list[Glyph]) -> list[Glyph]:
    """The columns of ink (`columns`) without specks: columns under a fifth of the tallest one's height
    and small."""
    if not glyphs:
        return []
    tallest = max(g.height for g in glyphs)
    return [g for g in glyphs if g.height >= 0.2 * tallest or g.mask.sum() >= 0.04 * tallest ** 2]


def glyph_inputs(line: Line) -> list[np.ndarray]:
    """Every glyph whole as the gate's 28x28 input (its own ink only, not its neighbours')."""
    return [glyph_input(line.ink, g) for g in line.glyphs]


def box(x0: float, y0: float, x1: float, y1: float, scale: float, width: int, height: int,
        origin: tuple[float, float] = (0.0, 0.0)) -> list[int]:
    """[x, y, w, h] in the upload's pixels of a working-image box, clipped to the upload (`origin`: the
    working image's top-left corner in the upload)."""
    left, top = max(0, math.floor(origin[0] + x0 / scale)), max(0, math.floor(origin[1] + y0 / scale))
    right = min(width, math.ceil(origin[0] + x1 / scale))
    bottom = min(height, math.ceil(origin[1] + y1 / scale))
    return [left, top, max(1, right - left), max(1, bottom - top)]


@dataclass(frozen=True)
class Calibration:
    """P(the whole string is right) = 1 / (1 + e^b (-log p)^a), p the string's CTC probability: Platt
    scaling of log(-log p), whose (a, b) `python -m training.number_card` fits on validation strings.
    The default (1, 0) is the uncalibrated reading (about p when p is near 1)."""

    a: float = 1.0
    b: float = 0.0

    def __post_init__(self):
        if not (math.isfinite(self.a) and self.a > 0 and math.isfinite(self.b)):
            raise ValueError(f"a calibration needs a > 0 and a finite b, not a={self.a}, b={self.b}")

    def confidence(self, log_p: float) -> float:
        if log_p >= 0:
            return 1.0
        z = self.b + self.a * math.log(-log_p)
        return 1.0 / (1.0 + math.exp(z)) if z < 700 else 0.0

    def log_p(self, confidence: float) -> float:
        """The inverse of `confidence`: the log-probability that this confidence came from."""
        c = min(max(confidence, 1e-300), 1 - 1e-16)
        return -math.exp((math.log(1 / c - 1) - self.b) / self.a)

    def as_dict(self) -> dict:
        return {"a": self.a, "b": self.b}


READER = ("line", "gate", "digit")  # the checkpoints the number reader's card was calibrated with, as it names them


def read_number_card(model_dir: Path, served: dict[str, str]) -> tuple[dict, Calibration]:
    """The number reader's card, MODEL_DIR/number.json (written by `python -m training.number_card`),
    and its calibration when its `checkpoints` are the served line model and gate (`served`: name ->
    sha256 of the loaded checkpoints). Otherwise the reader still works, uncalibrated, and the card
    (or, without one, its stand-in) says why."""
    card, calibration = read_fitted_card(Path(model_dir) / CARD, READER, served,
                                         lambda card: Calibration(**card["calibration"]),
                                         "the number confidence is uncalibrated", "python -m training.number_card")
    return card, calibration or Calibration()


def no_digit() -> InputError:
    return InputError(422, "no digit found: the image holds no handwritten digits", "not_a_digit")


def not_only_digits() -> InputError:
    return InputError(422, "the line holds writing that is not digits (letters, signs or a drawing): the number "
                           "reader reads lines of handwritten digits only", "not_a_digit")


def barcode() -> InputError:
    return InputError(422, "the line is a row of straight bars (a barcode?), not handwritten digits", "not_a_digit")


def bars(line: Line, images: list[np.ndarray]) -> bool:
    """A barcode's bars: BARS or more glyphs, nearly all of them straight strokes (`ink.straight_stroke`
    of their inputs `images`), of unequal widths (BAR_WIDTHS: a pen's strokes are one width). Each bar
    alone is a 1 to the gate and the line model."""
    if len(images) < BARS or sum(map(straight_stroke, images)) < STRAIGHT_SHARE * len(images):
        return False
    widths = [g.mask.sum() / g.height for g in line.glyphs]
    return bool(np.percentile(widths, 90) >= BAR_WIDTHS * np.percentile(widths, 10))


def refused_line(p_not: list[float], filled: list[bool] | None = None, barred: bool = False) -> InputError | None:
    """Why the gate's P(not a digit) for each glyph refuses a line (see the module's step 3), or None.
    A glyph holding a filled area (`filled`: `app.ml.ink.filled_shape` of its input) counts as surely not
    a digit: a face's hair, whose eyes and mouth the gate may take for digits."""
    if barred:
        return barcode()
    if filled:
        p_not = [max(p, SURELY_NOT) if f else p for p, f in zip(p_not, filled)]
    surely = sum(p >= SURELY_NOT for p in p_not)
    if not p_not or no_digit_in(p_not):
        return no_digit()
    if surely >= 2 or max(p_not, default=0.0) >= CERTAINLY_NOT:
        return not_only_digits()
    return None


def assemble(line: Line, log_probs: list[np.ndarray], p_not: list[float], calibration: Calibration,
             filled: list[bool] | None = None, barred: bool = False, glyph_digits: list[np.ndarray] | None = None) -> dict:
    """The answer from the line model's per-frame log-probabilities (frames x 11) on each of the line's
    views and the gate's P(not a digit) for each glyph (and whether it holds a filled area), and the
    digit model's probabilities of the ten digits for each glyph (`glyph_digits`, read with the line
    model's: `glyph_reading`). `inputs`: a 28x28 picture of each digit as the line model read it."""
    if (refused := refused_line(p_not, filled, barred)) is not None:
        raise refused
    reading = lines.consensus(log_probs)
    if reading is None:
        raise no_digit()
    strip, outputs = line.views[reading.view], log_probs[reading.view]
    spans = lines.spans(strip.image, [t for _, t in reading.digits])
    boxes = [lines.work_box(strip, a, b) for a, b in spans]
    reading, changed = glyph_reading(line, log_probs, reading, boxes, glyph_digits)
    digits, inputs = [], []
    for i, ((digit, _), (a, b), work) in enumerate(zip(reading.digits, spans, boxes)):
        confidence = changed[i] if i in changed else lines.digit_probability(outputs, digit, a, b)
        digits.append({"digit": digit, "confidence": confidence,
                       "box": box(*work, line.scale, line.width, line.height, line.origin)})
        inputs.append(lines.crop(strip, a, b))
    marks = [{"mark": m.mark, "box": box(m.glyph.left, m.glyph.top, m.glyph.right, m.glyph.bottom, line.scale,
                                         line.width, line.height, line.origin)} for m in line.marks]
    number = "".join(str(d["digit"]) for d in digits)
    return {"number": number, "text": written(number, digits, marks), "digits": digits, "marks": marks,
            "confidence": calibration.confidence(reading.log_p), "log_p": reading.log_p, "inputs": inputs}


def glyph_reading(line: Line, log_probs: list[np.ndarray], reading: lines.Reading,
                  boxes: list[tuple[float, float, float, float]], glyph_digits: list[np.ndarray] | None
                  ) -> tuple[lines.Reading, dict[int, float]]:
    """The line model's reading, or that reading with digits the digit model read otherwise in their own
    glyphs: where the line's glyphs are its digits one for one (as many, the centre of each digit's
    working-image box in `boxes` within its glyph's columns), each digit whose glyph the digit model
    reads as another (its most probable) may change to that one. Of the reading and each set of such
    changes (every set when there are at most MAX_CHANGES, else each alone and all together), the string
    with the highest mean CTC log-probability over the views plus GLYPH_WEIGHT times the digit model's
    log-probabilities of its digits wins. Returns the reading (its `log_p` the winner's mean CTC
    log-probability, which the calibration maps) and, for each digit changed, the digit model's
    probability of it (its confidence)."""
    read = [d for d, _ in reading.digits]
    if not glyph_digits or len(glyph_digits) != len(read) or len(line.glyphs) != len(read) or not all(
            g.left <= (x0 + x1) / 2 <= g.right for g, (x0, _, x1, _) in zip(line.glyphs, boxes)):
        return reading, {}
    p = [np.asarray(g, dtype=np.float64) for g in glyph_digits]
    other = {i: int(np.argmax(q)) for i, q in enumerate(p) if int(np.argmax(q)) != read[i]}
    if not other:
        return reading, {}
    places = list(other)
    if len(places) <= MAX_CHANGES:
        changes = [c for k in range(1, len(places) + 1) for c in itertools.combinations(places, k)]
    else:
        changes = [(i,) for i in places] + [tuple(places)]

    def score(digits: list[int], ctc: float) -> float:
        return ctc + GLYPH_WEIGHT * sum(math.log(max(float(q[d]), 1e-12)) for q, d in zip(p, digits))

    best, best_ctc, best_change = read, reading.log_p, ()  # the reading's log_p is its views' CTC log-probability
    best_score = score(read, best_ctc)
    for change in changes:
        digits = [other.get(i, d) if i in change else d for i, d in enumerate(read)]
        ctc = lines.views_log_prob(log_probs, digits)
        total = score(digits, ctc)
        if total > best_score:
            best, best_score, best_ctc, best_change = digits, total, ctc, change
    if not best_change:
        return reading, {}
    return (lines.Reading(reading.view, [(d, t) for d, (_, t) in zip(best, reading.digits)], best_ctc),
            {i: float(p[i][best[i]]) for i in best_change})


def written(number: str, digits: list[dict], marks: list[dict]) -> str:
    """The number as written: its digits with each mark where it stands among them (left to right by
    the centres of the boxes, in the upload's pixels)."""
    centre = [d["box"][0] + d["box"][2] / 2 for d in digits]
    at = {i: "" for i in range(len(number) + 1)}
    for m in sorted(marks, key=lambda m: m["box"][0]):
        at[sum(c < m["box"][0] + m["box"][2] / 2 for c in centre)] += m["mark"]
    return "".join(at[i] + (number[i] if i < len(number) else "") for i in range(len(number) + 1))


__all__ = ["Calibration", "InputError", "Line", "assemble", "box", "glyph_inputs", "line_strip", "read_number_card",
           "read_line"]
