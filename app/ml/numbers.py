"""Reading a line of handwritten digits: segmentation into candidate digits, and choosing among them.

1. `read_line`: the upload's ink at a working scale (same decoding, polarity and background removal
   as one digit), cut into glyphs: connected pieces of ink merged into left-to-right columns.
2. The digit model and the gate score every glyph whole, and every pair of nearly touching glyphs
   as one (a digit drawn in two strokes). A glyph the gate does not take for one digit may be several
   touching or overlapping digits: `readings` cuts it into 2 pieces at each of its deepest valleys of
   ink, and into k = 2, 3, ... pieces near each k-th of its width, along least-ink paths; those
   pieces are scored too.
3. `choose` keeps, per glyph, the reading whose pieces are most probably digits (log P(digit) +
   log P(one digit by the gate), summed over pieces), and dynamic programming along the line decides
   between two nearly touching glyphs and one digit drawn in two strokes.
4. The string's confidence is the product of the chosen pieces' probabilities, calibrated by one
   exponent fitted on validation strings (`exponent` in models/number.json, see `read_card`).

NumPy and SciPy only.
"""

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from app.ml.ink import EIGHT, Glyph, columns, components, merge
from app.ml.preprocess import InputError, downscale_to, fit_and_center, isolate_ink, no_ink, read_upload

log = logging.getLogger("digitserve.numbers")
CARD = "number.json"  # beside the checkpoints: how the number reader was calibrated and how it scored
LINE_SIDE = 1024  # the longer side of the working image (a 20-digit line keeps ~50 px per digit)
MAX_PIECES = 6  # at most this many digits read from one glyph
DOUBT = 0.9  # a glyph whose P(one digit) by the gate is below this is also read as several pieces
SPLIT_COST = 1.0  # log-score cost of each extra digit read from one glyph
MIN_DIGIT_ASPECT = 0.45  # width / height below which a piece is too narrow for two digits


@dataclass
class Line:
    ink: np.ndarray  # white ink on black in [0, 1], working scale
    scale: float  # working pixels per upload pixel
    width: int  # the upload's size after EXIF orientation
    height: int
    inverted: bool
    glyphs: list[Glyph] = field(default_factory=list)
    pairs: dict[int, Glyph] = field(default_factory=dict)  # glyph i and i+1 merged, where they may be one digit


def read_line(data: bytes, max_pixels: int) -> Line:
    """Decode and clean an upload holding a line of digits; raises InputError (422 when there is no ink)."""
    x, background, width, height, inverted = read_upload(data, max_pixels, LINE_SIDE)
    x = isolate_ink(downscale_to(x, LINE_SIDE), background)
    glyphs = line_glyphs(x)
    if not glyphs:
        raise no_ink("the image has no ink that stands out from the background")
    return Line(x, x.shape[1] / width, width, height, inverted, glyphs)


def line_glyphs(x: np.ndarray) -> list[Glyph]:
    """Columns of ink, without specks: pieces under a fifth of the tallest glyph's height and small."""
    glyphs = columns(components(x))
    if not glyphs:
        return []
    tallest = max(g.height for g in glyphs)
    return [g for g in glyphs if g.height >= 0.2 * tallest or g.mask.sum() >= 0.04 * tallest ** 2]


def piece(g: Glyph, keep: np.ndarray) -> Glyph | None:
    """The part of glyph `g` where `keep` holds, without small leftovers of a neighbour's strokes,
    trimmed to its ink."""
    mask = g.mask & keep
    labels, n = ndimage.label(mask, structure=EIGHT)
    if n == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    mask = np.isin(labels, 1 + np.flatnonzero(sizes >= 0.15 * sizes.max()))
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    mask = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    return Glyph(g.top + rows[0], g.left + cols[0], g.top + rows[-1] + 1, g.left + cols[-1] + 1, mask)


def cut_path(mask: np.ndarray, lo: int, hi: int, nominal: float) -> np.ndarray:
    """A top-to-bottom path (one column per row, moving at most one column per row) between columns
    lo and hi that crosses the least ink, preferring columns near `nominal`: where two touching or
    overlapping digits part, also along a slant."""
    h = mask.shape[0]
    window = np.arange(lo, hi)
    cost = mask[:, lo:hi].astype(np.float64) + 0.02 * np.abs(window - nominal)[None, :] / max(1.0, hi - lo)
    total, back = cost[0].copy(), np.zeros(cost.shape, dtype=np.int64)
    for r in range(1, h):
        options = np.stack([np.r_[np.inf, total[:-1]], total, np.r_[total[1:], np.inf]])
        step = options.argmin(0)
        back[r] = step - 1
        total = options[step, np.arange(len(total))] + cost[r]
    path = np.empty(h, dtype=np.int64)
    path[-1] = int(total.argmin())
    for r in range(h - 1, 0, -1):
        path[r - 1] = path[r] + back[r, path[r]]
    return window[path]


def split(g: Glyph, nominals: list[float], reach: float) -> list[Glyph] | None:
    """Glyph `g` cut along least-ink paths, one within `reach` columns of each nominal column."""
    cols = np.arange(g.width)[None, :]
    bounds = [np.zeros(g.height, dtype=np.int64)]
    for nominal in nominals:
        lo, hi = max(1, int(nominal - reach)), min(g.width - 1, int(nominal + reach) + 1)
        if lo >= hi:
            return None
        bounds.append(cut_path(g.mask, lo, hi, nominal))
    bounds.append(np.full(g.height, g.width, dtype=np.int64))
    if any((b < a).any() for a, b in zip(bounds, bounds[1:])):
        return None
    pieces = [piece(g, (cols >= a[:, None]) & (cols < b[:, None])) for a, b in zip(bounds, bounds[1:])]
    return None if any(p is None for p in pieces) else pieces


def valleys(g: Glyph, most: int = 3) -> list[int]:
    """Columns of least ink between 15% and 85% of the glyph's width (local minima, fewest first)."""
    profile = np.convolve(g.mask.sum(0).astype(np.float64), np.ones(3) / 3, mode="same")
    lo, hi = max(1, int(0.15 * g.width)), min(g.width - 1, int(0.85 * g.width) + 1)
    minima = [c for c in range(lo, hi) if profile[c] <= profile[max(0, c - 2):c + 3].min()]
    chosen: list[int] = []
    for c in sorted(minima, key=lambda c: profile[c]):
        if all(abs(c - d) > 0.1 * g.width for d in chosen):
            chosen.append(c)
        if len(chosen) == most:
            break
    return chosen


def readings(g: Glyph) -> list[list[Glyph]]:
    """The ways to read one glyph as several digits, each a list of k >= 2 pieces: two pieces parted
    at each of its deepest valleys of ink, and k = 2, 3, ... pieces parted near each k-th of its width."""
    options = [split(g, [c], 0.12 * g.width) for c in valleys(g)]
    most = min(MAX_PIECES, max(2, math.ceil(g.width / (MIN_DIGIT_ASPECT * g.height))))
    for k in range(2, most + 1):
        step = g.width / k
        options.append(split(g, [i * step for i in range(1, k)], 0.35 * step))
    return [o for o in options if o]


def model_input(ink: np.ndarray, g: Glyph) -> np.ndarray:
    """A piece's own ink (not its neighbours'), with the faint edges around its strokes, as the 28x28
    digit-model input."""
    pad = 2
    top, left = max(0, g.top - pad), max(0, g.left - pad)
    bottom, right = min(ink.shape[0], g.bottom + pad), min(ink.shape[1], g.right + pad)
    mask = np.zeros((bottom - top, right - left), dtype=bool)
    mask[g.top - top:g.bottom - top, g.left - left:g.right - left] = g.mask
    return fit_and_center(ink[top:bottom, left:right] * ndimage.binary_dilation(mask, EIGHT, iterations=pad))


@dataclass
class Scored:
    digit: int
    p_digit: float  # calibrated P(digit) by the digit model
    p_one: float  # the gate's P(exactly one digit)
    p_not: float = 0.0  # the gate's P(not a digit at all)

    @property
    def log_score(self) -> float:
        return math.log(max(self.p_digit, 1e-9)) + math.log(max(self.p_one, 1e-9))


def doubtful(whole: Scored) -> bool:
    """A glyph that the gate does not take for one digit, nor for a non-digit (a letter is not cut
    into digit-like pieces): read it again as several pieces."""
    return whole.p_one < DOUBT and whole.p_not < 0.9


def choose(scores: list[list[Scored]]) -> int:
    """Which reading (0: the glyph whole) has pieces that are most probably digits, by the digit model
    and the gate, each extra piece paying SPLIT_COST (a 0 is not two 1s unless it must be)."""
    return max(range(len(scores)),
               key=lambda c: sum(s.log_score for s in scores[c]) - SPLIT_COST * (len(scores[c]) - 1))


def box(g: Glyph, scale: float) -> list[int]:
    """[x, y, w, h] of a piece in the upload's pixels."""
    x0, y0 = math.floor(g.left / scale), math.floor(g.top / scale)
    x1, y1 = math.ceil(g.right / scale), math.ceil(g.bottom / scale)
    return [x0, y0, max(1, x1 - x0), max(1, y1 - y0)]


def read_card(model_dir: Path) -> dict:
    """The number reader's card, MODEL_DIR/number.json (written by `python -m training.number_card`).
    Without one the reader still works, with an uncalibrated confidence (exponent 1), and says so."""
    try:
        card = json.loads((Path(model_dir) / CARD).read_text())
        float(card["exponent"])
        return card
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s: unreadable (%s); the number confidence is uncalibrated. Fix: run "
                    "`python -m training.number_card`", Path(model_dir) / CARD, exc)
        return {"exponent": 1.0, "error": f"{CARD} missing or unreadable"}


def string_confidence(chosen: list[Scored], exponent: float) -> float:
    """Calibrated P(the whole string is right): the pieces' probabilities multiplied, to a fitted power."""
    return math.exp(exponent * sum(s.log_score for s in chosen))


def mergeable(glyphs: list[Glyph]) -> list[int]:
    """Indices i where glyphs i and i+1 may be one digit drawn in two strokes (a 4, a broken 0):
    nearly touching, and together no wider than a digit."""
    out = []
    for i, (a, b) in enumerate(zip(glyphs, glyphs[1:])):
        height = max(a.bottom, b.bottom) - min(a.top, b.top)
        if b.left - a.right < 0.25 * height and b.right - a.left <= 1.1 * height:
            out.append(i)
    return out


def segment(data: bytes, max_pixels: int) -> tuple[Line, list[np.ndarray]]:
    """The line and the first model inputs: every glyph whole, then every mergeable pair as one."""
    line = read_line(data, max_pixels)
    line.pairs = {i: merge(line.glyphs[i], line.glyphs[i + 1]) for i in mergeable(line.glyphs)}
    return line, [model_input(line.ink, g) for g in [*line.glyphs, *line.pairs.values()]]


Options = dict[int, list[list[Glyph]]]  # glyph index -> its readings as several pieces


def doubtful_glyphs(line: Line, whole: list[Scored]) -> list[int]:
    """The glyphs to read again as several pieces."""
    return [i for i in range(len(line.glyphs)) if doubtful(whole[i])]


def split_doubtful(line: Line, doubtful_glyphs: list[int]) -> tuple[Options, list[np.ndarray]]:
    """For each doubtful glyph its readings as several pieces, and the model inputs of all those
    pieces in order (glyph, reading, piece)."""
    options = {i: readings(line.glyphs[i]) for i in doubtful_glyphs}
    images = [model_input(line.ink, p) for i in doubtful_glyphs for parts in options[i] for p in parts]
    return options, images


@dataclass
class Reading:
    """Per glyph, the scores of each reading (0: whole, then `options`' order), the pieces of each
    reading, and where each piece's model input is; and the scores of merged pairs of glyphs."""

    scores: list[list[list[Scored]]]
    parts: list[list[list[Glyph]]]
    inputs: dict[tuple[int, int, int], int]  # (glyph, reading, piece) -> index into the model inputs
    merged: dict[int, tuple[Scored, Glyph, int]]  # glyph i merged with i+1: score, glyph, input index


def collect(line: Line, whole: list[Scored], options: Options, pieces: list[Scored]) -> Reading:
    """Arrange the scores of the two passes (`segment`'s inputs, then `split_doubtful`'s) per glyph."""
    n = len(line.glyphs)
    scores = [[[s]] for s in whole[:n]]
    parts = [[[g]] for g in line.glyphs]
    inputs = {(i, 0, 0): i for i in range(n)}
    merged = {i: (whole[n + j], g, n + j) for j, (i, g) in enumerate(line.pairs.items())}
    position = 0
    for i in sorted(options):
        for parts_of_reading in options[i]:
            k = len(parts_of_reading)
            inputs.update({(i, len(scores[i]), j): len(whole) + position + j for j in range(k)})
            scores[i].append(pieces[position:position + k])
            parts[i].append(parts_of_reading)
            position += k
    return Reading(scores, parts, inputs, merged)


def total(scores: list[Scored]) -> float:
    return sum(s.log_score for s in scores)


def best_path(reading: Reading) -> list[tuple[int, int | None]]:
    """The most probable left-to-right reading of the line: a list of (glyph, reading), where reading
    None means glyph and glyph + 1 read as one digit."""
    n = len(reading.scores)
    best, back = [0.0] + [-math.inf] * n, [None] * (n + 1)
    for j in range(1, n + 1):
        c = choose(reading.scores[j - 1])
        best[j], back[j] = best[j - 1] + total(reading.scores[j - 1][c]), (j - 1, c)
        if j >= 2 and j - 2 in reading.merged:
            joined = best[j - 2] + reading.merged[j - 2][0].log_score
            if joined > best[j]:
                best[j], back[j] = joined, (j - 2, None)
    path, j = [], n
    while j > 0:
        path.append(back[j])
        j = back[j][0]
    return path[::-1]


def assemble(line: Line, reading: Reading, gate_threshold: float, exponent: float) -> dict:
    """The answer: the best reading of the line; a glyph that the gate holds for no digit at all (a
    speck, a dash, a letter) is left out. `pieces` lists the model inputs of the digits read."""
    digits, chosen, used = [], [], []
    for i, c in best_path(reading):
        if c is None:
            s, glyph, index = reading.merged[i]
            found = [(s, glyph, index)]
        else:
            if c == 0 and reading.scores[i][0][0].p_one < 1 - gate_threshold:
                continue
            found = [(s, part, reading.inputs[(i, c, j)])
                     for j, (part, s) in enumerate(zip(reading.parts[i][c], reading.scores[i][c]))]
        for s, part, index in found:
            digits.append({"digit": s.digit, "confidence": s.p_digit, "box": box(part, line.scale)})
            chosen.append(s)
            used.append(index)
    if not digits:
        raise InputError(422, "no digit found: the image holds no handwritten digits", "not_a_digit")
    return {"number": "".join(str(d["digit"]) for d in digits), "digits": digits,
            "confidence": string_confidence(chosen, exponent), "pieces": used}


__all__ = ["InputError", "Line", "Reading", "Scored", "assemble", "box", "choose", "collect", "doubtful", "doubtful_glyphs",
           "model_input", "read_line", "readings", "segment", "split_doubtful", "string_confidence"]
