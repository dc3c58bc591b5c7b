"""A line of digits as the line model sees it, and its answer read back: one definition for training
(`training.line_data`) and serving (`app.ml.numbers`).

1. `line_image`: the line's ink (white on black, any size) is straightened (the principal axis of its
   ink, up to MAX_SKEW degrees; up to MAX_TURN where the ink is plainly a line), cropped to its ink
   and scaled so that the ink is INK_HEIGHT px tall in a LINE_HEIGHT-px strip: MNIST's 20-in-28 scale,
   so the line model's convolutions start from the digit model's. Kept with it: the affine map from
   the strip back to the working image, for the boxes.
2. The line model (`app.ml.nets.LineNet`) gives per column-group (frame, FRAME px wide) log-probabilities
   of the ten digits and a blank; `best_path` reads them CTC-style (collapse repeats, drop blanks).
3. `string_log_prob` is the CTC probability of a string, summed over every alignment. The model reads
   the strip at three widths (`views`: STRETCHES); `consensus` takes each view's best path as a
   candidate and answers the one with the highest mean log-probability over the views, which is
   also the number's confidence before calibration. (On the 3,000 validation lines of
   models/number.json: 96.9% exact, against 96.0% with one view.)
4. `spans`: the strip's columns each digit read occupies (between its neighbours' peaks, cut where
   there is least ink), mapped back for boxes and crops.

NumPy, SciPy and Pillow only.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from app.ml.constants import IMAGE_SIZE
from app.ml.ink import BOX, principal_axis, resize
from app.ml.preprocess import INK_FLOOR, fit_and_center, ink_box

LINE_HEIGHT = IMAGE_SIZE  # the strip's height (MNIST's frame)
INK_HEIGHT = BOX  # the ink's height in the strip (MNIST's box)
FRAME = 4  # strip columns per frame of the line model's output (two 2x poolings)
MARGIN = 8  # blank columns on each side of the ink
MAX_WIDTH = 1280  # strip columns at most (a 20-digit line with wide gaps); wider lines are shrunk
MAX_SKEW = 10.0  # degrees: steeper fitted slopes are taken for the digits' own shape, not the line's
# ...unless the ink is plainly a line (a page photographed turned): then its principal axis is the line's
# up to MAX_TURN. Elongation: the ink's spread along its principal axis over the spread across it (std).
# One MNIST test digit reaches ~3.3 (a 5 at 38 degrees) but none of the 10,000 reaches 2.0 while in two
# or more sizable pieces; lines of 2 digits written apart reach 2.2-3, of 3 or more 2.2 and up (4 and more
# digits, 3 touching or written apart).
MAX_TURN = 35.0  # degrees: the steepest line straightened
LONG = 3.2  # elongation of a line, whatever its pieces (touching digits)
APART = 2.0  # elongation of a line in two or more PIECE-sized pieces
PIECE = 0.15  # a piece of ink at least this share of the largest one's pixels counts as a piece
PRE_HEIGHT = 80  # the ink is area-downscaled to about this height before rotating (an anti-aliased strip)
BLANK = 10  # the CTC blank's index among the line model's 11 outputs
INK = 0.1  # a pixel at least this bright is ink for cropping
STRETCHES = (1.0, 0.9, 1.1)  # the widths (of the ink between the margins) the line model reads a strip at


@dataclass
class Strip:
    image: np.ndarray  # (LINE_HEIGHT, W) float32 in [0, 1], white ink on black
    to_work: np.ndarray  # 3x3: strip (x, y, 1) -> working image (x, y, 1)


def affine(a: float = 1, b: float = 0, c: float = 0, d: float = 0, e: float = 1, f: float = 0) -> np.ndarray:
    return np.array([[a, b, c], [d, e, f], [0, 0, 1]], dtype=np.float64)


def skew(ink: np.ndarray) -> float:
    """The line's slope in degrees (positive: falling to the right, as image y grows downwards): the
    direction of its ink's principal axis; 0 for a steeper fit than MAX_SKEW or a line not at least
    twice as wide as tall, unless the ink is plainly a line (`elongation`) sloping up to MAX_TURN."""
    axis = principal_axis(ink)
    if axis is None:
        return 0.0
    if abs(axis.angle) <= MAX_SKEW and axis.width >= 2 * max(1, axis.height):
        return axis.angle
    if abs(axis.angle) > MAX_TURN:
        return 0.0
    return axis.angle if axis.elongation >= LONG or (axis.elongation >= APART and pieces(ink) >= 2) else 0.0


def pieces(ink: np.ndarray) -> int:
    """How many 8-connected pieces of ink (over 0.3) hold at least PIECE of the largest one's pixels."""
    labels, n = ndimage.label(ink > 0.3, np.ones((3, 3), dtype=bool))
    sizes = np.bincount(labels.ravel())[1:]
    return int((sizes >= PIECE * sizes.max()).sum()) if n else 0


def crop_box(x: np.ndarray) -> tuple[int, int, int, int] | None:
    return tuple(map(int, ink_box(x, INK))) if (x > INK).any() else None


def rotate(x: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """`x` turned by -angle degrees (a line rising at `angle` becomes level), canvas expanded to fit;
    with the 3x3 map from the turned image back to `x`, both in (x, y)."""
    if abs(angle) < 0.2:
        return x, affine()
    h, w = x.shape
    t = math.radians(angle)
    cos, sin = math.cos(t), math.sin(t)
    # Turned coordinates (u, v) -> source (x, y): rotate by +angle about the source's centre.
    out_w, out_h = int(math.ceil(w * cos + h * abs(sin))), int(math.ceil(h * cos + w * abs(sin)))
    back = (affine(c=w / 2, f=h / 2) @ affine(cos, -sin, 0, sin, cos, 0) @ affine(c=-out_w / 2, f=-out_h / 2))
    # scipy wants (row, col) = (y, x): swap axes of the 2x2 part and the offset.
    matrix = np.array([[back[1, 1], back[1, 0]], [back[0, 1], back[0, 0]]])
    offset = np.array([back[1, 2], back[0, 2]])
    turned = ndimage.affine_transform(x, matrix, offset, output_shape=(out_h, out_w), order=1, cval=0.0)
    return turned.astype(np.float32), back


def line_image(ink: np.ndarray) -> Strip | None:
    """The strip the line model reads (see the module's step 1); None when there is no ink."""
    box = crop_box(ink)
    if box is None:
        return None
    top, bottom, left, right = box
    crop = ink[top:bottom, left:right]
    to_work = affine(c=left, f=top)
    shrink = min(1.0, PRE_HEIGHT / crop.shape[0])
    if shrink < 1:
        h, w = crop.shape
        nh, nw = max(1, round(h * shrink)), max(1, round(w * shrink))
        crop = resize(crop, nw, nh)
        to_work = to_work @ affine(w / nw, 0, 0, 0, h / nh, 0)
    turned, back = rotate(crop, skew(crop))
    to_work = to_work @ back
    box = crop_box(turned)
    if box is None:
        return None
    top, bottom, left, right = box
    turned = turned[top:bottom, left:right]
    to_work = to_work @ affine(c=left, f=top)
    h, w = turned.shape
    scale = INK_HEIGHT / h
    nw = max(1, round(w * scale))
    if nw + 2 * MARGIN > MAX_WIDTH:  # too wide: shrink the whole line to fit
        scale = (MAX_WIDTH - 2 * MARGIN) / w
        nw = MAX_WIDTH - 2 * MARGIN
    nh = max(1, round(h * scale))
    small = resize(turned, nw, nh)
    image = np.zeros((LINE_HEIGHT, nw + 2 * MARGIN), dtype=np.float32)
    y0 = (LINE_HEIGHT - nh) // 2
    image[y0:y0 + nh, MARGIN:MARGIN + nw] = small
    to_work = to_work @ affine(w / nw, 0, -MARGIN * w / nw, 0, h / nh, -y0 * h / nh)
    return Strip(image, to_work)


def stretched(strip: Strip, factor: float) -> Strip:
    """The strip with its ink's columns scaled by `factor`, margins and height kept: another view of
    the same line (the digits a little narrower or wider, the frames falling elsewhere on them)."""
    if factor == 1.0:
        return strip
    height, width = strip.image.shape
    core = strip.image[:, MARGIN:width - MARGIN]
    nw = max(1, round(core.shape[1] * factor))
    image = np.zeros((height, nw + 2 * MARGIN), dtype=np.float32)
    image[:, MARGIN:MARGIN + nw] = resize(core, nw, height)
    ratio = core.shape[1] / nw
    return Strip(image, strip.to_work @ affine(ratio, 0, MARGIN * (1 - ratio)))


def views(strip: Strip) -> list[Strip]:
    """The strips the line model reads for one line, the strip itself first."""
    return [stretched(strip, factor) for factor in STRETCHES]


@dataclass(frozen=True)
class Reading:
    view: int  # the view whose best path this is
    digits: list[tuple[int, int]]  # (digit, frame in that view), as `best_path` gives them
    log_p: float  # the string's CTC log-probability, averaged over the views


def consensus(log_probs: list[np.ndarray]) -> Reading | None:
    """The string read from the line model's outputs on several views of one line: each view's best
    path is a candidate, and the one with the highest mean CTC log-probability over all the views wins
    (the earlier view on a tie). None when every view reads nothing."""
    best, seen = None, set()
    for view, outputs in enumerate(log_probs):
        read = best_path(outputs)
        digits = [d for d, _ in read]
        if not digits or tuple(digits) in seen:
            continue
        seen.add(tuple(digits))
        log_p = views_log_prob(log_probs, digits)
        if best is None or log_p > best.log_p:
            best = Reading(view, read, log_p)
    return best


def views_log_prob(log_probs: list[np.ndarray], digits: list[int]) -> float:
    """The string's CTC log-probability (`string_log_prob`) averaged over the views of one line."""
    return float(np.mean([string_log_prob(outputs, digits) for outputs in log_probs]))


def best_path(log_probs: np.ndarray) -> list[tuple[int, int]]:
    """The digits read by best-path CTC decoding, each with the frame of its most probable column."""
    best = log_probs.argmax(1)
    out, previous = [], BLANK
    for t, k in enumerate(best):
        if k != BLANK and k != previous:
            out.append([int(k), t])
        elif k != BLANK and log_probs[t, k] > log_probs[out[-1][1], k]:
            out[-1][1] = t
        previous = k
    return [tuple(o) for o in out]


def string_log_prob(log_probs: np.ndarray, digits: list[int]) -> float:
    """log P(digits | line) under CTC: the sum over every alignment of frames to the digits and blanks."""
    extended = [BLANK]
    for d in digits:
        extended += [d, BLANK]
    s = len(extended)
    ext = np.array(extended)
    allowed_skip = np.zeros(s, dtype=bool)
    allowed_skip[2:] = (ext[2:] != BLANK) & (ext[2:] != ext[:-2])
    alpha = np.full(s, -np.inf)
    alpha[0] = log_probs[0, BLANK]
    if s > 1:
        alpha[1] = log_probs[0, ext[1]]
    for t in range(1, len(log_probs)):
        stay = alpha
        step = np.r_[-np.inf, alpha[:-1]]
        skip = np.where(allowed_skip, np.r_[-np.inf, -np.inf, alpha[:-2]], -np.inf)
        alpha = np.logaddexp(np.logaddexp(stay, step), skip) + log_probs[t, ext]
    return float(np.logaddexp(alpha[-1], alpha[-2]) if s > 1 else alpha[-1])


def digit_probability(log_probs: np.ndarray, digit: int, a: int, b: int) -> float:
    """P(digit | some digit is written here) over the frames of strip columns [a, b): the digit's share
    of the non-blank probability there."""
    p = np.exp(log_probs[a // FRAME:max(a // FRAME + 1, (b - 1) // FRAME + 1)])
    return float(p[:, digit].sum() / max(1e-12, (1 - p[:, BLANK]).sum()))


def spans(image: np.ndarray, frames: list[int]) -> list[tuple[int, int]]:
    """Strip columns [a, b) of each digit read at the given output frames: neighbours part at the
    column with least ink between their peaks; each span is then trimmed to its own ink."""
    profile = image.sum(0)
    centres = [min(image.shape[1] - 1, f * FRAME + FRAME // 2) for f in frames]
    cuts = [0]
    for a, b in zip(centres, centres[1:]):
        cuts.append(cut(profile, cuts[-1], a, b) if b > a else a + 1)
    cuts.append(image.shape[1])
    out = []
    for a, b in zip(cuts, cuts[1:]):
        cols = np.flatnonzero(profile[a:b] > INK)
        out.append((a + int(cols[0]), a + int(cols[-1]) + 1) if len(cols) else (a, max(b, a + 1)))
    return out


def cut(profile: np.ndarray, start: int, a: int, b: int) -> int:
    """Where two digits read at columns a < b part: a column in (a, b] with the least ink, the first one
    with ink on both sides (since the previous cut `start`, and up to b) where there is one. A peak can
    fall a few columns before a narrow digit's ink (a one-stroke 1): the blank there is no parting."""
    window = profile[a + 1:b + 1]
    least = a + 1 + np.flatnonzero(window <= window.min())
    inked = np.flatnonzero(profile > INK)
    both = [c for c in least.tolist() if ((inked >= start) & (inked < c)).any() and ((inked > c) & (inked <= b)).any()]
    return both[0] if both else int(least[0])


def rows_of(image: np.ndarray, a: int, b: int) -> tuple[int, int]:
    rows = np.flatnonzero((image[:, a:b] > INK).any(1))
    return (int(rows[0]), int(rows[-1]) + 1) if len(rows) else (0, image.shape[0])


def work_box(strip: Strip, a: int, b: int) -> tuple[float, float, float, float]:
    """The working-image box (x0, y0, x1, y1) around strip columns [a, b) and their ink's rows."""
    top, bottom = rows_of(strip.image, a, b)
    corners = np.array([[a, top, 1], [b, top, 1], [a, bottom, 1], [b, bottom, 1]], dtype=np.float64).T
    xs, ys, _ = strip.to_work @ corners
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def crop(strip: Strip, a: int, b: int) -> np.ndarray:
    """The strip's columns [a, b) around one digit, as a 28x28 picture of what the line model read there
    (MNIST's framing: the ink's longer side at 20 px, centred by mass); blank where the span holds no
    ink (the line model may read a digit from a faint trace)."""
    part = strip.image[:, a:b]
    if not (part > INK_FLOOR).any():
        return np.zeros((LINE_HEIGHT, LINE_HEIGHT), dtype=np.float32)
    return fit_and_center(part, pen=False)
