"""Real uploads -> what the models saw: a 28x28 MNIST-style image (white ink on black, in [0, 1]).

The one place this is written; the service, the page and the accuracy tests all call `prepare`.
The MNIST recipe, step by step:

1. decode any common format (PNG, JPEG, HEIC as iPhones save photos, first GIF frame, BMP, WebP, AVIF,
   TIFF), refusing bombs early;
2. apply the EXIF orientation;
3. flatten transparency onto a background that contrasts with the ink (a canvas export with black
   strokes on a transparent background must not become black on black);
4. grayscale (16-bit and float images scaled by their own range); a screenshot's status bar, app bar,
   toolbar and navigation bar take its canvas's colour (`app.ml.screens`); a photo of a sheet of paper
   lying on a darker desk has the desk made paper, and a dark board or picture on a lighter surround
   (a blackboard on a wall, a white-on-black image shown on a white page) has the surround made board
   (`on_sheet`);
5. polarity: MNIST ink is bright on dark; dark-on-light images are inverted;
6. paper texture, shadows and noise are removed (flat-field by a morphological opening that follows
   the light's falloff towards the corners, then a noise threshold), but only for images that are not
   already clean (an image cropped close to its ink, not a page photo, is framed in its background
   first, as if it had a margin: `lift_framed`); a ruled or squared page's printed lines are taken out (`app.ml.rules`);
7. a digit whose strong ink (over STRONG) spans under SMALL_INK pixels of the downscaled image (a
   small digit in a 12 MP photo) is read again from a copy downscaled only to DETAIL_SIDE (with no ink
   there, at THIN_SIDE: a thin pen's strokes); where its ink there is still a
   speck, spans the page (the lines of a notebook photographed from afar) or has more beside it
   (pieces of those lines), a window around the strongest ink is read from a decode at least
   FINE_SIDE large (`fine_window`), a grid's lines opened away;
8. take out what stands around the writing (a screenshot's bars and icons, a circle, a box or a line
   drawn around or under it: `app.ml.clutter`) and a printed frame the writing touches (a form's box:
   `without_frame`), drop separate pieces
   of ink that stay faint where another piece is bright (what the flat-field left of a whiteboard's
   glare: `without_faint_pieces`), crop to the ink, bring the strokes to MNIST's
   width (`app.ml.ink.normalize_pen`), fit into a 20x20 box keeping the aspect ratio, centre by
   centre of mass in 28x28.

Large JPEGs are decoded at the scale the pixel work needs (DCT scaling, `Image.draft`), not in full.

An image that is already 28x28 is in model format: it is only converted to gray and polarity, never
resampled, so MNIST digits and the averaged overlap pairs reach the model exactly as in training.
"""

import functools
import io
import math
import struct
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

from app.ml.clutter import without_clutter
from app.ml.constants import IMAGE_SIZE
from app.ml.ink import (
    BOX,
    EIGHT,
    INK_FLOOR,
    STRONG,
    Glyph,
    averaged,
    filled_shape,
    label_sums,
    normalize_pen,
    row_runs,
    scattered,
    separated,
    tall_columns,
)
from app.ml.rules import is_grid, printed_lines, remove_rules, without_thin_lines
from app.ml.screens import without_chrome

SIZE = IMAGE_SIZE
WORK_SIDE = 256  # larger uploads are area-downscaled to this before the pixel work
SMALL_INK = 32  # ink spanning fewer pixels than this at WORK_SIDE (a digit under 1/8 of a large upload's side) ...
# ... counting only ink over STRONG (`app.ml.ink`): a photo's faint haze (0.05-0.1) is not a digit's size
DETAIL_SIDE = 512  # ... is read again with the upload downscaled to this instead
THIN_SIDE = 1024  # an upload with no ink at DETAIL_SIDE is looked at up to this large (a thin pen's strokes)
FINE_SIDE = 1500  # a large upload whose ink at DETAIL_SIDE is still small or page-wide: a window around its
WINDOW = 3  # strongest ink, this many times that ink's size, is read from a decode at least this large
PAGE = 0.9  # ink whose box covers this share of both sides of a large upload is a page's lines, not a digit
INK_MIN = 0.15  # an image whose strongest ink is fainter than this holds no digit
# ... and, in a photo, whose strongest ink stands less than this over the noise floor (itself 4 robust sigmas
# and 0.04 over the paper): a pencil digit 20% darker than its paper clears it, a blank page does not
ABOVE_FLOOR = 0.1
FRAME = 0.8  # ink along this share of each side of its box: a printed frame around the writing
TIGHT = 0.7  # an upload whose strong ink spans this share of its longer side or more was cropped close to it ...
# ... unless nothing in it stands this far over the light's smooth falloff (`only_shading`): the corners of
# empty photos under a lamp stand 0.014-0.035 over it, an empty notebook page's printed lines 0.089-0.2, and
# close crops' strokes 0.26 or more (reports/preprocessing.md)
SHADING = 0.06
FALLOFF_MARGIN = 0.02  # the light's falloff corrects the paper's level only where the opening stays this much under it
PAGE_GRID = 64  # the sheet of paper is looked for on a copy this many pixels on its longer side
SMALL_SHEET = 0.04  # the smallest share of the photo a sheet may cover (a sticky note seen from afar)
LARGE_SHEET = 0.99  # the largest (a page nearly filling the photo, the desk a strip along its edges)
RECTANGLE = 0.85  # a sheet smaller than 30% of the photo fills more than this of its tightest rectangle
SURFACE_SPREAD = 0.2  # a desk around a photographed sheet: 99% of it at most this much darker than its median
MATTE_MIN = 32  # pictures with a margin are looked for in uploads at least this large (not 28x28 ones)
MATTE_EVEN = 0.06  # a margin around a picture (`without_matte`): its rows within this of one level
MATTE_BAND = 0.03  # the picture's band judged inside it, as a share of the short side
MATTE_FILL = 0.9  # ... over this share of it within MATTE_EVEN of its level
MATTE_STEP = 0.3  # ... which stands at least this far from the margin's
MATTE_INSIDE, MATTE_WRITING = 0.5, 0.005  # and this share of its inside at that level, this share MATTE_STEP off it
DARK_WRITING, DARK_MAX = 0.002, 0.4  # a dark sheet (`on_sheet`) holds this share of light writing in the coarse
DARK_INK = 0.15  # copy: pixels at least this much lighter than the board (`dark_board`)
DARK_EVEN, DARK_FLAT = 0.1, 0.55  # and over DARK_FLAT of it within DARK_EVEN of its level: a board, a picture
# (blackboards 0.85 and up, MNIST digits shown on a page 0.60 and up; a fat overlapped pair drawn gray and
# black on white, whose negative is a blurred blob with holes, 0.43)
BEZEL = 3  # ... judged a coarse pixel beyond the sheet, or this many (a screen's dark bezel around it)
SHEET_STEP = 0.2  # a sheet's paper stands at least this much brighter than the desk around it (a 0-1 gray level) ...
EDGE_STEP = 0.15  # ... and, when many pixels lie between the two levels, this much right across its edge ...
SURFACE_EVEN = 0.1  # ... with the surface around it this close to a smooth falloff of light
SLIVER = 0.1  # faint ink along an edge, within this share of the image's side of it, ...
SLIVER_LONG = 0.15  # ... running along over this share of that edge ...
SLIVER_FAINT = 0.7  # ... and under this share of the brightest ink is a desk's sliver beside a page, not writing ...
SLIVER_THIN = 0.015  # ... when it is a line at most this share of the image thick ...
SLIVER_FILL = 0.65  # ... or fills at most this share of its box (a tilted line, a wedge's tip)
EDGE = 0.02  # a sliver comes this close to an edge (a desk's strip may stand a pixel or two in from it); ...
HUG = 0.5  # ... a strong one, of any length, goes when over this share of it lies that close ...
CLEAR = 0.05  # writing this share of the side away from every edge has a margin: it is no close crop
FORMATS = "PNG, JPEG, HEIC, GIF, BMP, WebP, AVIF, TIFF"
# HEIF brands whose images are HEVC-coded (an iPhone photo's major brand is 'heic'); AVIF is Pillow's own
HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})


class InputError(Exception):
    """A client's upload that cannot be turned into a digit; carries the HTTP status to answer and,
    for an image without a digit, the machine-readable reason (e.g. "no_ink")."""

    def __init__(self, status: int, message: str, reason: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason


def no_ink(message: str) -> InputError:
    return InputError(422, f"no digit found: {message}", "no_ink")


@dataclass
class Prepared:
    image: np.ndarray  # (28, 28) float32 in [0, 1], white ink on black
    width: int  # the upload's size, after EXIF orientation
    height: int
    inverted: bool  # dark ink on light background was detected
    glyphs: int = 1  # tall pieces of ink side by side (2 or more: several characters, e.g. a number)
    filled: bool = False  # its strokes, brought to MNIST's pen, still hold a filled area (`ink.filled_shape`)
    # Each tall column of ink alone as a 28x28 input (`ink.tall_columns`, `glyph_input`) when there are
    # several, however close (a word's letters, a typed number's digits): the gate's verdicts on them
    # tell a number from a word when it refuses the whole (`Predictor.settled`).
    pieces: tuple[np.ndarray, ...] = ()
    # Prepared without the pen's normalization (an overlap pair), an upload whose ink is of one level all over,
    # one pen's (`ink.averaged` says it is not two digits averaged), prepared with it too: the input the gate
    # judges as it judges one digit on /predict (a letter, a doodle, digits side by side are refused there).
    one_pen: np.ndarray | None = None
    # Prepared without the pen's normalization, ink that looks averaged but lies in pieces apart
    # (`ink.scattered`): no two digits overlapped, maybe a photo of nothing, for the gate to judge whole.
    scattered: bool = False


def is_heic(data: bytes) -> bool:
    """An ISO media file (`ftyp` box first) with an HEVC-coded HEIF brand among its major and compatible brands."""
    if data[4:8] != b"ftyp":
        return False
    end = min(int.from_bytes(data[:4], "big"), 128)
    brands = {data[8:12]} | {data[i:i + 4] for i in range(16, end - 3, 4)}  # data[12:16] is a version number
    return not brands.isdisjoint(HEVC_BRANDS)


@functools.cache
def open_heic() -> None:
    """Teach Pillow HEIC (pillow-heif: libheif + libde265) the first time one arrives, so that its
    import (~0.1 s) is paid only by a worker that receives one."""
    from pillow_heif import register_heif_opener

    register_heif_opener()


def decode(data: bytes, max_pixels: int, work_side: int = 0) -> Image.Image:
    """Decode the first frame of an upload; 415 for non-images, 413 for too many pixels.

    With `work_side`, a JPEG larger than that is decoded at the smallest DCT scale (1/2, 1/4, 1/8)
    that still keeps both sides at least `work_side`: a 12 MP photo in a fraction of the time."""
    if not data:
        raise InputError(422, "the uploaded file is empty")
    if is_heic(data):
        open_heic()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > max_pixels:
                raise InputError(413, f"image has {w}x{h} = {w * h} pixels; the limit is {max_pixels}")
            img.seek(0)
            if work_side and img.format == "JPEG" and min(w, h) > 2 * work_side:
                img.info["full_size"] = (w, h)  # the upload's own size; img.size becomes the decoded one
                # A colour JPEG is decoded straight to gray (its luma: what to_gray would compute from
                # RGB), which skips the chroma planes' upsampling and the colour conversion.
                img.draft("L" if img.mode == "RGB" else img.mode, (work_side, work_side))
            img.load()
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(413, f"image declares too many pixels ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise InputError(415, f"the file is not a decodable image ({FORMATS})") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error) as exc:
        raise InputError(415, f"the image is corrupt or truncated ({type(exc).__name__})") from exc
    if w < 1 or h < 1:
        raise InputError(422, "the image has no pixels")
    return img


def to_gray(img: Image.Image) -> np.ndarray:
    """EXIF-oriented, transparency-flattened grayscale in [0, 1]."""
    if not (img.format == "PNG" and "exif" not in img.info):  # a PNG without an eXIf chunk has no orientation
        try:
            img = ImageOps.exif_transpose(img)
        except Exception:  # a malformed EXIF block must not cost the prediction
            pass
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if arr.max() > 255 else 255.0
        return np.clip(arr / top, 0, 1)
    if img.mode == "P" and "transparency" in img.info or img.mode in ("PA", "LA", "RGBA", "La", "RGBa"):
        return flatten_alpha(img.convert("RGBA"))
    if img.mode == "LAB":  # Pillow converts LAB to nothing else; its L band is the lightness
        img = img.getchannel("L")
    try:
        gray = img.convert("L")
    except ValueError as exc:  # a colour mode Pillow cannot turn into gray
        raise InputError(415, f"the image's colour mode {img.mode} is not supported; send RGB or grayscale") from exc
    return np.asarray(gray, dtype=np.float32) / 255.0


def flatten_alpha(rgba: Image.Image) -> np.ndarray:
    """Composite onto white when the visible strokes are dark, onto black when they are light."""
    arr = np.asarray(rgba, dtype=np.float32) / 255.0
    alpha = arr[..., 3]
    gray = arr[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if alpha.min() > 0.99:  # opaque after all
        return gray
    visible = alpha > 0.5
    if not visible.any():
        raise no_ink("the image is fully transparent")
    background = 1.0 if gray[visible].mean() < 0.5 else 0.0
    return gray * alpha + background * (1 - alpha)


def outermost(a: np.ndarray) -> np.ndarray:
    """The outermost pixels of a 2-D array: its first and last rows and columns."""
    return np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])


def border_level(x: np.ndarray) -> float:
    """The median of the outermost pixels (np.median's own overhead is 30 us, a third of a 28x28 upload)."""
    border = np.sort(outermost(x))
    n = len(border)
    return float((border[(n - 1) // 2] + border[n // 2]) / 2)


def is_clean(x: np.ndarray, background: float) -> bool:
    """Canvas drawings, scans with flat background and MNIST: most pixels equal the background."""
    return float(np.mean(np.abs(x - background) < 1e-3)) > 0.5


def downscale_to(x: np.ndarray, side: int = 0) -> np.ndarray:
    """Area-downscale so that the longer side is at most `side` (WORK_SIDE by default)."""
    h, w = x.shape
    scale = (side or WORK_SIDE) / max(h, w)
    if scale >= 1:
        return x
    img = Image.fromarray(x, mode="F").resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BOX)
    return np.asarray(img, dtype=np.float32)


def paper_level(x: np.ndarray) -> np.ndarray:
    """The paper's level under the ink, at each pixel: a 7x7 opening (edges replicated) of a 32x32 area-
    downscaled copy, scaled back up; where the light falls off towards the corners, the opening stays under
    the paper there, and the opening of the copy less that falloff (`light_falloff`) is taken instead
    where it stands more than FALLOFF_MARGIN higher. The opening is scipy's (Pillow's MinFilter/MaxFilter
    give the same values in 20x the time)."""
    h, w = x.shape
    coarse = coarse_copy(x)
    light = light_falloff(coarse)
    level = np.maximum(opening(coarse), opening(coarse - light) + light - FALLOFF_MARGIN)
    return stretched(level, w, h)


def coarse_copy(x: np.ndarray) -> np.ndarray:
    """The 32x32 area-downscaled copy on which the paper's level and its light falloff are found."""
    return np.asarray(Image.fromarray(x, mode="F").resize((32, 32), Image.BOX))


def stretched(coarse: np.ndarray, w: int, h: int) -> np.ndarray:
    """A coarse copy's levels scaled back up to w x h (bilinear)."""
    return np.asarray(Image.fromarray(coarse.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR), dtype=np.float32)


def opening(x: np.ndarray) -> np.ndarray:
    """A 7x7 grey opening (minimum, then maximum), edges replicated."""
    return ndimage.maximum_filter(ndimage.minimum_filter(x, 7, mode="nearest"), 7, mode="nearest")


_U, _V = np.meshgrid(np.linspace(-1, 1, 32, dtype=np.float32), np.linspace(-1, 1, 32, dtype=np.float32))


def quadratic(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The terms of a quadratic surface in the coordinates u, v (the shape of a light's smooth falloff
    across a photo): 1, u, v, u^2, uv, v^2, along a new last axis."""
    return np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], -1)


QUADRATIC = quadratic(_U, _V).reshape(-1, 6).astype(np.float64)


def light_falloff(coarse: np.ndarray) -> np.ndarray:
    """The paper's smooth light falloff on a 32x32 copy: a quadratic surface fitted to the paper alone
    (pixels far above the fit, the ink, are left out and the fit repeated)."""
    values = coarse.reshape(-1).astype(np.float64)
    keep = np.ones(len(values), dtype=bool)
    for _ in range(4):
        paper = QUADRATIC[keep]
        coef = np.linalg.solve(paper.T @ paper, paper.T @ values[keep])  # least squares (6 unknowns)
        residual = values - QUADRATIC @ coef
        median, sigma = robust_spread(np.sort(residual[keep]))
        keep = residual <= median + 2.5 * sigma + 0.01
    return (QUADRATIC @ coef).reshape(32, 32).astype(np.float32)


def sorted_median(s: np.ndarray) -> float:
    """np.median of a sorted 1-D array, bit for bit (the mean of its middle one or two values)."""
    n = len(s)
    return float(np.mean(s[(n - 1) // 2:n // 2 + 1]))


def robust_spread(s: np.ndarray) -> tuple[float, float]:
    """The median of a sorted 1-D array and its robust sigma (1.4826 x the median absolute deviation)."""
    median = sorted_median(s)
    return median, 1.4826 * sorted_median(np.sort(np.abs(s - median)))


def sorted_percentile(s: np.ndarray, q: float) -> float:
    """np.percentile(s, q) of a sorted 1-D array, bit for bit: numpy's linear interpolation between the
    two neighbouring order statistics. A 256x192 image's median and percentiles cost ~1 ms through
    numpy, whose partition is slow with several kth; np.sort (SIMD) is 85 us."""
    virtual = (len(s) - 1) * (q / 100)
    below = int(np.floor(virtual))
    a, b = s[below], s[min(below + 1, len(s) - 1)]
    gamma, diff = virtual - below, b - a
    return float(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)


def remove_background(x: np.ndarray) -> np.ndarray:
    """Flat-field (subtract a morphological opening of a coarse copy) and cut the noise floor."""
    x = x - paper_level(x)
    levels = np.sort(x, axis=None)
    median, spread = robust_spread(levels)
    floor = median + 4 * spread + 0.04
    # The ink's level: a high percentile, of a lightly smoothed copy too, so that a small digit (under
    # 0.5% of the pixels) still counts while single noisy pixels do not.
    smooth = ndimage.uniform_filter(x, 3)
    top = max(sorted_percentile(levels, 99.5), sorted_percentile(np.sort(smooth, axis=None), 99.95))
    if top - floor < INK_MIN:
        # A digit under 0.05% of the pixels (a 12 MP photo of a page, the digit 3-6% of its height), or a
        # faint one: the brightest 3x3 mean, which a stroke reaches and a single noisy pixel does not.
        top = float(smooth.max())
    if top - floor < ABOVE_FLOOR:
        raise no_ink("the image has no ink that stands out from the background")
    return np.clip((x - floor) / (top - floor), 0, 1)


FAINT = 0.3  # a separate piece of ink that stays under this, beside one that reaches it, is not writing


def without_faint_pieces(x: np.ndarray, near: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """`x` without its separate pieces of ink (over INK_FLOOR, 8-connected) that stay under FAINT where
    another piece reaches it: what the flat-field leaves of a whiteboard's glare or a blotchy
    background, which would otherwise widen the crop and shrink the digit into a corner of it. `near`:
    (top, left, bottom, right) of the writing: faint pieces reaching into it stay (a faint piece of a
    digit among others, which a line's reading needs)."""
    labels, n = ndimage.label(x > INK_FLOOR, EIGHT)
    if n < 2:
        return x
    writing = np.zeros(n + 1, dtype=bool)
    writing[labels[x >= FAINT]] = True  # the pieces that reach FAINT (ndimage.maximum per piece: 15x slower)
    if near is not None:
        top, left, bottom, right = (max(0, int(v)) for v in near)
        writing[labels[top:bottom, left:right]] = True
    if not writing.any() or writing[1:].all():
        return x
    faint = ~writing
    faint[0] = False  # the background
    return np.where(faint[labels], 0, x).astype(np.float32)


def without_frame(x: np.ndarray) -> np.ndarray:
    """`x` without a printed box around the writing (a form's field cropped with its digit): when the
    ink's box (over STRONG) has ink along FRAME of each of its four sides, within a band of 5% of its
    shorter side, what lies in those bands is taken out. Kept as it is when too little ink stays inside
    (a digit drawn square, or nothing but the box)."""
    ink = x > STRONG
    if not ink.any():
        return x
    top, bottom, left, right = ink_box(x, STRONG)
    h, w = bottom - top, right - left
    band = max(2, round(0.05 * min(h, w)))
    box = ink[top:bottom, left:right]
    sides = (box[:band].any(0), box[-band:].any(0), box[:, :band].any(1), box[:, -band:].any(1))
    if min(h, w) < 16 or min(float(side.mean()) for side in sides) < FRAME:
        return x
    within = np.s_[top + band:bottom - band, left + band:right - band]
    inside = np.zeros_like(x)
    inside[within] = x[within]
    return inside if (inside > STRONG).sum() >= 0.02 * h * w else x


def ink_box(x: np.ndarray, threshold: float) -> tuple[int, int, int, int]:
    ink = x > threshold
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def fit_and_center(x: np.ndarray, pen: bool = True) -> np.ndarray:
    """Crop to the ink, scale its longer side to 20 px, centre its mass in a 28x28 frame.

    With `pen`, strokes are first brought to MNIST's width (not for overlapped pairs: their averaged,
    half-bright strokes are no pen's)."""
    top, bottom, left, right = ink_box(x, INK_FLOOR)
    crop = x[top:bottom, left:right]
    if pen:
        crop = normalize_pen(crop)
        top, bottom, left, right = ink_box(crop, INK_FLOOR)
        crop = crop[top:bottom, left:right]
    h, w = crop.shape
    scale = BOX / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    resample = Image.LANCZOS if scale < 1 else Image.BICUBIC
    small = np.clip(np.asarray(Image.fromarray(crop, mode="F").resize((nw, nh), resample), dtype=np.float32), 0, 1)
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    total = small.sum()
    cy = (small.sum(1) @ np.arange(nh)) / total if total > 0 else (nh - 1) / 2
    cx = (small.sum(0) @ np.arange(nw)) / total if total > 0 else (nw - 1) / 2
    oy = int(np.clip(round((SIZE - 1) / 2 - cy), 0, SIZE - nh))
    ox = int(np.clip(round((SIZE - 1) / 2 - cx), 0, SIZE - nw))
    out[oy:oy + nh, ox:ox + nw] = small
    return out


def mnist_format(x: np.ndarray, pen: bool = True, inverted: bool = False) -> Prepared:
    """A 28x28 input already in MNIST's format, as it is (never resampled nor redrawn); with `pen` off
    (an overlap pair), ink of one pen's level is its own `one_pen` input too."""
    image = np.ascontiguousarray(x, dtype=np.float32)
    if pen:
        return Prepared(image, SIZE, SIZE, inverted)
    if averaged(image):
        return Prepared(image, SIZE, SIZE, inverted, scattered=scattered(image))
    return Prepared(image, SIZE, SIZE, inverted, one_pen=image)


def prepare(data: bytes, max_pixels: int = 40_000_000, pen: bool = True) -> Prepared:
    """Bytes of an upload -> Prepared (28x28 model input in [0, 1]). Raises InputError.

    `pen`: normalize the stroke width (one drawn digit); off for overlapped pairs, where an upload whose
    ink is one pen's (not two digits averaged) is also prepared with it (`Prepared.one_pen`)."""
    x, background, width, height, inverted = read_upload(data, max_pixels, WORK_SIDE)
    if (height, width) == (SIZE, SIZE):
        if x.max() - background < INK_MIN:
            raise no_ink("the image is blank")
        return mnist_format(x, pen, inverted)
    if max(x.shape) <= WORK_SIDE:
        x = isolate_ink(x, background)
    else:
        fine = is_page_photo(width, height)  # large enough for a finer reading than DETAIL_SIDE
        try:
            # A page photographed whole is no close crop, though its lines span it (`lift_framed`).
            x = isolate_ink(downscale_to(x), background, framed=not fine)
        except InputError as exc:
            if exc.reason != "no_ink":
                raise
            x = None
        if x is None or unread(x, fine):
            # No ink, or a small digit, in a large upload (a 12 MP photo of a page): read again at
            # DETAIL_SIDE, where its strokes are still strokes.
            x, width, height, inverted = detail_reading(data, max_pixels, max(width, height) > DETAIL_SIDE, not fine)
            if fine and (unread(x, fine) or beside_more(x)):
                # Still a speck, lines across the page (a notebook photographed from afar: at this
                # scale its lines are too thin and faint to find) or pieces of them beside the digit:
                # read a window around the strongest ink.
                window = fine_window(data, max_pixels, x)
                x = window if window is not None else strong_part(x)
    x = without_frame(without_clutter(x))
    ink = without_faint_pieces(x)
    if not (ink > INK_FLOOR).any():  # an empty page: its lines, frame and clutter were all there was
        raise no_ink("no ink is left once the page's lines and surroundings are taken out")
    image = fit_and_center(ink, pen)
    looks_averaged = not pen and averaged(ink)
    if looks_averaged and image.max() < STRONG:
        # Two averaged digits reach a pen's level in the model's input; what a page's lines and edges leave
        # (thin remnants over the whole photo, shrunk to 28x28) does not (reports/preprocessing.md, *Empty pages*).
        raise no_ink("what is left once the page's lines and edges are taken out is too faint and thin to be two "
                     "averaged digits; digits written small on a page photographed from afar are read best from a "
                     "photo cropped close to them")
    tall, ink_height = tall_columns(x)
    return Prepared(image, width, height, inverted, len(separated(tall, ink_height)), pen and filled_shape(image),
                    tuple(glyph_input(x, g) for g in tall) if len(tall) > 1 else (),
                    None if pen or looks_averaged else fit_and_center(ink), looks_averaged and scattered(image))


def glyph_input(ink: np.ndarray, g: Glyph) -> np.ndarray:
    """One glyph of `ink` whole as a 28x28 model input: its own ink only, not its neighbours'."""
    pad = 2
    top, left = max(0, g.top - pad), max(0, g.left - pad)
    bottom, right = min(ink.shape[0], g.bottom + pad), min(ink.shape[1], g.right + pad)
    mask = np.zeros((bottom - top, right - left), dtype=bool)
    mask[g.top - top:g.bottom - top, g.left - left:g.right - left] = g.mask
    return fit_and_center(ink[top:bottom, left:right] * ndimage.binary_dilation(mask, EIGHT, iterations=pad))


def detail_reading(data: bytes, max_pixels: int, larger: bool, framed: bool) -> tuple[np.ndarray, int, int, bool]:
    """(ink, width, height, inverted) of a large upload read again at DETAIL_SIDE; when it holds no ink
    there and is `larger` than that, at THIN_SIDE (or its own size, if smaller): a thin pen's strokes in
    a digit written small, a pixel wide at DETAIL_SIDE, sink into the paper's noise. `framed`: as for
    `isolate_ink`."""
    def ink_at(side: int) -> tuple[np.ndarray, int, int, bool]:
        x, background, width, height, inverted = read_upload(data, max_pixels, side)
        return isolate_ink(downscale_to(x, side), background, framed), width, height, inverted

    try:
        return ink_at(DETAIL_SIDE)
    except InputError as exc:
        if not larger or exc.reason != "no_ink":
            raise
    return ink_at(THIN_SIDE)


def fine_window(data: bytes, max_pixels: int, coarse: np.ndarray) -> np.ndarray | None:
    """The ink of a window around `coarse`'s strongest piece of ink (WINDOW times its size), read from
    a decode at least FINE_SIDE large, where a page's printed lines are lines again; None unless the
    ink found there is compact (under half the window): else the window holds no digit."""
    smooth = ndimage.uniform_filter(coarse, 3)
    labels, n = ndimage.label(smooth > 0.6 * smooth.max())
    if n == 0:
        return None
    strongest = int(np.argmax(ndimage.sum(smooth, labels, range(1, n + 1))))
    rows, cols = ndimage.find_objects(labels)[strongest]
    side = WINDOW * max(rows.stop - rows.start, cols.stop - cols.start, 12)
    cy, cx = (rows.start + rows.stop) / 2, (cols.start + cols.stop) / 2
    x, *_ = read_upload(data, max_pixels, FINE_SIDE)
    f = x.shape[1] / coarse.shape[1]
    top, left = int(max(0, (cy - side / 2) * f)), int(max(0, (cx - side / 2) * f))
    window = downscale_to(x[top:int((cy + side / 2) * f), left:int((cx + side / 2) * f)])
    try:
        lifted = lift_ink(window, border_level(window))
    except InputError:
        return None
    lines = printed_lines(lifted)
    # A grid's lines are thinner than the pen's strokes at this scale: an opening takes them out
    # (subtracting their level, as for a ruled page's lines, cuts the strokes where they run along
    # them). It also takes what a subtraction left when lines were found in one direction only: a
    # grid whose other lines the digit broke, in a window this small.
    ink = None if is_grid(lifted, lines) else remove_rules(lifted, lines)
    if ink is None or (any(level is not None for level in lines) and not compact(ink)):
        ink = without_thin_lines(lifted if ink is None else ink)
    return ink if compact(ink) else None


def compact(ink: np.ndarray) -> bool:
    """A window's ink that may be a digit: not across the page, under half the window's side."""
    return not spans_page(ink) and ink_side(ink) <= 0.5 * max(ink.shape)


def strong_part(x: np.ndarray) -> np.ndarray:
    """`x` with only its strong ink (over STRONG, with two pixels of its edges) when that is compact
    (under 2 x SMALL_INK: a small digit) and fainter ink stands beyond it (a page's lines that no
    reading took out); else `x` as it is."""
    strong = x > STRONG
    if not strong.any() or ink_side(x, STRONG) >= 2 * SMALL_INK:
        return x
    return np.where(ndimage.binary_dilation(strong, iterations=2), x, 0).astype(np.float32)


def is_page_photo(width: int, height: int) -> bool:
    """An upload large enough for the window reading (a 12 MP phone photo): a digit in it may be a few
    percent of a page photographed from afar."""
    return min(width, height) >= 2 * FINE_SIDE


def unread(x: np.ndarray, fine: bool) -> bool:
    """Ink that this scale does not read as a digit: a speck (its strong ink under SMALL_INK), or, in an
    upload large enough for a finer reading (`fine`), a page's lines."""
    return ink_side(x, STRONG) < SMALL_INK or (fine and spans_page(x))


def beside_more(x: np.ndarray) -> bool:
    """At DETAIL_SIDE, ink whose box spans over 4 x SMALL_INK: more than the small digit that brought
    the reading here (its strong ink under SMALL_INK at WORK_SIDE, so under 2 x SMALL_INK here): pieces
    of a page's lines left beside it."""
    return ink_side(x) > 4 * SMALL_INK


def spans_page(x: np.ndarray) -> bool:
    """The ink's box covers at least PAGE of both sides: a page's printed lines, not a digit."""
    top, bottom, left, right = ink_box(x, INK_FLOOR)
    return bottom - top >= PAGE * x.shape[0] and right - left >= PAGE * x.shape[1]


def ink_side(x: np.ndarray, threshold: float = INK_FLOOR) -> int:
    """The longer side of the box of the ink over `threshold`, in pixels (0: none)."""
    if not (x > threshold).any():
        return 0
    top, bottom, left, right = ink_box(x, threshold)
    return max(bottom - top, right - left)


def without_matte(x: np.ndarray) -> np.ndarray:
    """`x` with a flat margin around a picture made the picture's background: a white-on-black MNIST
    digit shown on a white page and screenshotted with a strip of the page around it (a black canvas on
    a light page; a white one on a dark page). Too thin for `on_sheet`'s coarse copy, the margin was the
    background, the picture one block of ink. A margin: on all four sides, rows (columns) wholly within
    MATTE_EVEN of one level; the picture: the band MATTE_BAND of the short side deep inside it, over
    MATTE_FILL of it within MATTE_EVEN of one level at least MATTE_STEP from the margin's (a pen's line
    or a form's box is thinner than the band), and MATTE_INSIDE of its inside at that level too (a frame
    drawn with a fat pen holds paper) but not all of it (MATTE_WRITING: a dash drawn with a fat pen is no
    picture). The picture at least four bands across."""
    h, w = x.shape
    if min(h, w) < MATTE_MIN:  # a 28x28 upload (model format) among them: untouched
        return x
    edges = outermost(x)
    level = border_level(x)
    if np.abs(edges - level).max() > MATTE_EVEN:  # no margin all round (a photo's grain: most uploads)
        return x
    off = np.abs(x - level) > MATTE_EVEN
    rows, cols = off.any(1), off.any(0)
    if not rows.any():
        return x
    top, bottom = int(np.argmax(rows)), int(np.argmax(rows[::-1]))
    left, right = int(np.argmax(cols)), int(np.argmax(cols[::-1]))
    band = max(2, math.ceil(MATTE_BAND * min(h, w)))
    if top + bottom + 2 * band >= h or left + right + 2 * band >= w:
        return x
    picture = x[top:h - bottom, left:w - right]
    inner = float(np.median(ring_of(picture, band)))
    if abs(inner - level) < MATTE_STEP:
        return x
    # The picture's edge (a JPEG's ringing, a resampled edge's blur) goes with the margin: rows and columns
    # within the band that are not mostly at the picture's level.
    top, bottom = top + edge_rows(picture, inner, band), bottom + edge_rows(picture[::-1], inner, band)
    left, right = left + edge_rows(picture.T, inner, band), right + edge_rows(picture.T[::-1], inner, band)
    picture = x[top:h - bottom, left:w - right]
    if min(picture.shape) <= 4 * band or np.mean(np.abs(ring_of(picture, band) - inner) <= MATTE_EVEN) < MATTE_FILL:
        return x
    inside = np.abs(picture[band:-band, band:-band] - inner)
    if np.mean(inside <= MATTE_EVEN) < MATTE_INSIDE or np.mean(inside >= MATTE_STEP) < MATTE_WRITING:
        return x  # a frame (a box, an envelope drawn with a fat pen: paper inside it), or a filled shape
    out = np.full_like(x, inner)
    out[top:h - bottom, left:w - right] = picture
    return out


def ring_of(picture: np.ndarray, band: int) -> np.ndarray:
    """The pixels of `picture` within `band` of its edges."""
    return np.concatenate([picture[:band].ravel(), picture[-band:].ravel(), picture[band:-band, :band].ravel(),
                           picture[band:-band, -band:].ravel()])


def edge_rows(picture: np.ndarray, level: float, band: int) -> int:
    """How many of the first `band` rows of `picture` lead up to its first row mostly (MATTE_FILL) at `level`."""
    at = np.mean(np.abs(picture[:band] - level) <= MATTE_EVEN, axis=1) >= MATTE_FILL
    return int(np.argmax(at)) if at.any() else 0


def on_sheet(x: np.ndarray) -> np.ndarray:
    """`on_page`; where it finds no sheet, `on_page` of the negative, turned back: a dark sheet on a lighter
    surround (a blackboard on a wall, a phone's dark screen on a desk, a white-on-black MNIST image shown on
    a white page and screenshotted with the page around it) has the surround made the board's level. The
    surround was the background before, so the board became one block of "ink" with the digit a hole in it
    (every such upload refused as not a digit). The board must hold light writing (`find_sheet`'s `dark`)."""
    if min(x.shape) < PAGE_GRID:
        return x
    coarse = downscale_to(x, PAGE_GRID)
    out = on_page(x, coarse)
    if out is not x:
        return out
    negative = 1.0 - coarse
    board = find_sheet(negative, dark=True)
    if board is None:
        return x
    out = surface_made_sheet(1.0 - x, negative, board)
    return x if out is None else (1.0 - out).astype(np.float32)


def on_page(x: np.ndarray, coarse: np.ndarray | None = None) -> np.ndarray:
    """A photo of a sheet of paper lying on a darker surface (a desk, a table) with the surface made paper:
    each pixel off the sheet takes the level of the nearest paper on the sheet (not of the writing: on a
    small note the digit runs close to its edge). Anything else is returned as
    it is. Without this the surface was the background (the sheet then "ink") or, where the sheet fills
    most of the photo, its edge stood out as ink around the digit, which shrank into a speck of the crop."""
    if min(x.shape) < PAGE_GRID:
        return x
    coarse = downscale_to(x, PAGE_GRID) if coarse is None else coarse  # `on_sheet` passes its copy
    sheet = find_sheet(coarse)
    out = None if sheet is None else surface_made_sheet(x, coarse, sheet)
    return x if out is None else out


def surface_made_sheet(x: np.ndarray, coarse: np.ndarray, sheet: np.ndarray) -> np.ndarray | None:
    """`x` with the surface around `sheet` (found in `coarse`) made the sheet's level, or None where that
    surface holds dark strokes (`is_shadow`: writing in a shadow, not a desk)."""
    h, w = x.shape
    # Off the sheet, and a coarse pixel into it (its blurred edge), the nearest level on it.
    inside = ndimage.binary_erosion(sheet, iterations=1)
    full = upscaled(inside, w, h)
    if all(is_shadow(x[~upscaled(ndimage.binary_dilation(sheet, iterations=grow), w, h)]) for grow in (1, BEZEL)):
        return None
    paper = inside & (coarse > otsu_threshold(coarse))  # the sheet's own level: not the writing on it
    nearest = ndimage.distance_transform_edt(~(paper if paper.any() else inside), return_distances=False,
                                             return_indices=True)
    level = coarse[nearest[0], nearest[1]]
    return np.where(full, x, stretched(level, w, h)).astype(np.float32)


def upscaled(mask: np.ndarray, w: int, h: int) -> np.ndarray:
    """A coarse mask at w x h (bilinear, over half)."""
    return stretched(mask, w, h) > 0.5


def is_shadow(surface: np.ndarray) -> bool:
    """The "desk" around a sheet holds dark strokes (99% of it more than SURFACE_SPREAD darker than its
    median): writing in a shadow, not a desk. Judged a coarse pixel beyond the sheet (the sheet's blurred
    edge is neither): where a page nearly fills the photo, the strip of desk along its edges is thinner than
    that blur, and the paper in it read as the surface's median, the desk as dark strokes. `on_page` takes
    a sheet whose surface holds no dark strokes there or BEZEL coarse pixels beyond it: a monitor's dark
    bezel around its bright screen hugs the screen, and the room beyond is even."""
    if surface.size == 0:
        return False
    off = np.sort(surface)
    return sorted_median(off) - sorted_percentile(off, 1) > SURFACE_SPREAD


def find_sheet(coarse: np.ndarray, dark: bool = False) -> np.ndarray | None:
    """The sheet of paper in a coarse gray copy of a photo (paper bright), or None unless the photo shows one
    on a clearly darker surface: the bright part beyond Otsu's threshold, largest piece and its holes (the
    writing), covering 30-99% of the photo with under 15% of it writing, or a smaller sheet (a sticky note,
    a card: SMALL_SHEET-30%) that is a `small_sheet` (a white stroke on a black canvas is not), convex
    (one run per row and column), the surface along at least 15% of the photo's edge, the two levels
    SHEET_STEP apart and few pixels between them, or a step at the sheet's edge (`edge_step`; a lamp's
    falloff towards the corners is a slope) and an even surface around it (`even_surface`). `dark`: the
    negative of a dark sheet, clear of the photo's edges, at any size a rectangle (over RECTANGLE of its
    tightest one: a board, a screen, a picture; not a fat 0 drawn dark on white, whose negative is a
    filled ring) holding writing, DARK_WRITING-DARK_MAX of it (`dark_board`; a black square on a white
    page is a filled shape, no board; an MNIST digit shown large covers up to ~30% of its square in the
    coarse copy) on a flat level (DARK_FLAT), and at least 0.4 as wide as long unless its writing leaves
    holes (a fat 1 drawn dark on white is a bar)."""
    labels, n = ndimage.label(coarse > otsu_threshold(coarse))
    if n == 0:
        return None
    paper = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    if outermost(paper).mean() > 0.85:
        return None  # the paper runs along the photo's edge (the sheet's holes, the writing, never reach it)
    sheet = ndimage.binary_fill_holes(paper)
    around = ~sheet
    writing = (sheet & ~paper).sum() / sheet.sum()
    if not SMALL_SHEET <= sheet.mean() <= LARGE_SHEET:
        return None
    if dark:
        if outermost(sheet).any():
            return None  # a board stands inside its surround (a dark shape in a corner of a colour photo)
        fill, aspect = tightest_rectangle(sheet)
        lighter, flat = dark_board(coarse, sheet)
        if not DARK_WRITING <= lighter <= DARK_MAX or flat < DARK_FLAT or fill <= RECTANGLE:
            return None
        if aspect < 0.4 and writing < DARK_WRITING:  # a fat 1 drawn dark: its negative a bar, no holes
            return None
    elif sheet.mean() >= 0.3:
        if writing > 0.15:
            return None
    elif not small_sheet(sheet, writing):
        return None
    high, low = float(np.median(coarse[paper])), float(np.median(coarse[around]))
    between = (coarse > low + 0.25 * (high - low)) & (coarse < high - 0.25 * (high - low))
    if high - low < SHEET_STEP or not (one_run(sheet) and one_run(sheet.T)):
        return None
    if dark:  # a board's edge is sharp and its surround flat, but a narrow margin is mostly the edge's blur
        around = around & ~ndimage.binary_dilation(sheet)
    if between.mean() > 0.08 and (edge_step(coarse, sheet) < EDGE_STEP or not even_surface(coarse, around)):
        return None
    return sheet


def dark_board(coarse: np.ndarray, sheet: np.ndarray) -> tuple[float, float]:
    """A dark sheet's inside (in the negative: bright, its writing dark): the share of it at least
    DARK_INK darker than its median (writing: chalk too thin to leave a hole in the coarse copy still
    shows) and the share within DARK_EVEN of its median (the board's own flat level)."""
    inner = ndimage.binary_erosion(sheet, iterations=2)  # not the blurred edge: a fat 1's negative is a
    if not inner.any():  # bar whose edges are darker than its middle
        return 0.0, 0.0
    level = coarse[inner]
    median = sorted_median(np.sort(level))
    return float(np.mean(level < median - DARK_INK)), float(np.mean(np.abs(level - median) <= DARK_EVEN))


def even_surface(coarse: np.ndarray, around: np.ndarray) -> bool:
    """The surface around a sheet is one surface under a light that falls off smoothly: 90% of it within
    SURFACE_EVEN of a quadratic fitted to it (a desk; not a colour-noise photo's patchwork of other levels)."""
    ys, xs = np.nonzero(around)
    u, v = xs / coarse.shape[1], ys / coarse.shape[0]
    terms = quadratic(u, v)
    fit, *_ = np.linalg.lstsq(terms, coarse[ys, xs], rcond=None)
    return float(np.percentile(np.abs(coarse[ys, xs] - terms @ fit), 90)) <= SURFACE_EVEN


def edge_step(coarse: np.ndarray, sheet: np.ndarray) -> float:
    """How much brighter the paper stands than the surface right across the sheet's edge: the median, over
    the sheet's edge, of the level two coarse pixels inside less the level two pixels outside. A sheet on
    a light desk under uneven light has many pixels between the two levels (its shaded paper, the lit
    desk), but a step at its edge; a lamp's falloff, which Otsu's threshold also splits, has none."""
    inner, outer = ndimage.binary_erosion(sheet, iterations=2), ~ndimage.binary_dilation(sheet, iterations=2)
    if not inner.any() or not outer.any():
        return 0.0
    ys, xs = np.nonzero(sheet & ~ndimage.binary_erosion(sheet))
    iy, ix = ndimage.distance_transform_edt(~inner, return_distances=False, return_indices=True)
    oy, ox = ndimage.distance_transform_edt(~outer, return_distances=False, return_indices=True)
    return float(np.median(coarse[iy[ys, xs], ix[ys, xs]] - coarse[oy[ys, xs], ox[ys, xs]]))


def tightest_rectangle(mask: np.ndarray) -> tuple[float, float]:
    """The share of the tightest rectangle around `mask` (tried turned every 3 degrees) that it fills,
    and that rectangle's shorter side over its longer one."""
    ys, xs = np.nonzero(mask)
    angles = np.deg2rad(np.arange(0, 90, 3))[:, None]
    u, v = xs * np.cos(angles) + ys * np.sin(angles), ys * np.cos(angles) - xs * np.sin(angles)
    sides = np.stack([np.ptp(u, axis=1) + 1, np.ptp(v, axis=1) + 1], 1)
    best = int(np.argmin(sides.prod(1)))
    return len(xs) / float(sides[best].prod()), float(sides[best].min() / sides[best].max())


def small_sheet(sheet: np.ndarray, writing: float) -> bool:
    """A bright part under 30% of the photo is a sheet (a sticky note, a card) when it fills over RECTANGLE
    of its tightest rectangle (notes on the 64-px copy: 86-97%; a filled fat 0 at most 79%, an octagonal
    0 drawn with a pen 22% of its height 85%) and holds writing, 1-25% of it; or, where the writing is
    too thin to leave a hole in the 64-px copy, when that rectangle is at least 0.4 as wide as long (not
    a fat upright stroke, a 1 drawn white on black)."""
    fill, aspect = tightest_rectangle(sheet)
    return fill > RECTANGLE and writing <= 0.25 and (writing >= 0.01 or aspect >= 0.4)


def one_run(mask: np.ndarray) -> bool:
    """At least 95% of the rows that hold any of `mask` hold it in one run (a convex shape's rows all do)."""
    starts = row_runs(mask)
    return float(np.mean(starts[starts > 0] == 1)) >= 0.95


def otsu_threshold(x: np.ndarray) -> float:
    """The level that best splits `x` (in [0, 1]) into two classes (Otsu: most variance between them)."""
    counts, edges = np.histogram(x, 64, (0, 1))
    p, centres = counts / counts.sum(), (edges[:-1] + edges[1:]) / 2
    below, mass = np.cumsum(p), np.cumsum(p * centres)
    between = (mass[-1] * below - mass) ** 2 / np.maximum(below * (1 - below), 1e-12)
    return float(edges[int(np.argmax(between)) + 1])


def read_upload(data: bytes, max_pixels: int, work_side: int) -> tuple[np.ndarray, float, int, int, bool]:
    """An upload decoded (at the scale `work_side` needs), oriented and in grayscale with bright ink:
    (image in [0, 1], background level, width, height, inverted). Steps 1-5 of the module's recipe."""
    img = decode(data, max_pixels, work_side)
    width, height = oriented_size(img)
    x = on_sheet(without_matte(without_chrome(to_gray(img))))
    background = border_level(x)
    inverted = background > 0.5
    if inverted:
        x, background = 1.0 - x, 1.0 - background
    return x, background, width, height, inverted


def isolate_ink(x: np.ndarray, background: float, framed: bool = True) -> np.ndarray:
    """White ink on black in [0, 1] with the background at 0, from a polarity-corrected gray image; a
    ruled or squared page's printed lines taken out (`app.ml.rules`), and the slivers of a desk along
    the photo's edges (`without_edge_slivers`). `framed`: an image cropped close to its ink is lifted
    as if it had a margin (`lift_framed`)."""
    return without_edge_slivers(remove_rules(lift_framed(x, background) if framed else lift_ink(x, background)))


def without_edge_slivers(x: np.ndarray) -> np.ndarray:
    """`x` without faint slivers of ink along its edges: where a page nearly fills a tilted photo, the
    desk shows in thin wedges along the photo's edges; too little of it for `on_page`, and too close
    in level to the paper (a light desk), each wedge's inner edge stays as a faint line along the
    border after the flat-field (whose paper level is a smooth 32x32 copy). Such a sliver is a piece
    of ink (over INK_FLOOR, 8-connected) that comes within EDGE of an edge and lies within SLIVER of
    it, runs along it over SLIVER_LONG of it, is thin (`is_sliver`) and stays under SLIVER_FAINT of the
    brightest ink (a pen's stroke along the edge of a close crop reaches it). A dark desk's strip is as
    bright as the pen after the flat-field, and a pixel or two may lie between it and the border: a
    thin piece goes too, strong and of any length (a desk's wedge in a corner is short), when over HUG
    of it lies within EDGE of the edges (a strip, a wedge's tip; not a stroke written near the edge)
    and the rest of the strong ink stands CLEAR of every edge (`clear_of_edges`). Nothing goes when
    nothing else would stay."""
    h, w = x.shape
    k = max(2, math.ceil(EDGE * min(h, w)))
    if not any((edge > INK_FLOOR).any() for edge in (x[:k], x[-k:], x[:, :k], x[:, -k:])):
        return x
    labels, n = ndimage.label(x > INK_FLOOR, EIGHT)
    if n < 2:
        return x
    band = np.ones(x.shape, dtype=bool)
    band[k:-k, k:-k] = False  # within k pixels of an edge
    in_band = np.bincount(labels[band], minlength=n + 1)
    boxes, areas = ndimage.find_objects(labels), label_sums(labels, n)
    edge_pieces = np.flatnonzero(in_band[1:]) + 1
    long_thin = [label for label in edge_pieces if is_sliver(*boxes[label - 1], int(areas[label - 1]), h, w)]
    hugging = [label for label in edge_pieces if in_band[label] >= HUG * areas[label - 1]
               and is_sliver(*boxes[label - 1], int(areas[label - 1]), h, w, along=0.0)]
    if not long_thin and not hugging:
        return x
    peaks = np.atleast_1d(ndimage.maximum(x, labels, long_thin)) if long_thin else []
    slivers = [label for label, peak in zip(long_thin, peaks) if peak < SLIVER_FAINT * float(x.max())]
    candidates = sorted(set(slivers) | set(hugging))
    if len(candidates) < n and clear_of_edges(np.where(np.isin(labels, candidates), 0, x)):
        slivers = candidates
    if not slivers or len(slivers) == n:
        return x
    return np.where(np.isin(labels, slivers), 0, x).astype(np.float32)


def clear_of_edges(x: np.ndarray) -> bool:
    """All of `x`'s strong ink (over STRONG: not a photo's faint haze) stands over CLEAR of the image's side
    away from each edge: writing in a photo with a margin around it, not a close crop (where a stroke may
    run along an edge)."""
    if not (x > STRONG).any():
        return False
    top, bottom, left, right = ink_box(x, STRONG)
    h, w = x.shape
    return top > CLEAR * h and bottom < (1 - CLEAR) * h and left > CLEAR * w and right < (1 - CLEAR) * w


def is_sliver(rows: slice, cols: slice, area: int, h: int, w: int, along: float = SLIVER_LONG) -> bool:
    """A piece (its box `rows`, `cols` and its `area` in pixels) that lies along an edge of an h x w
    image (within SLIVER of it, over `along` of it long) and is thin there (`without_edge_slivers`): a
    line, at most SLIVER_THIN of the image thick on average, or a tilted line or a wedge's tip, filling
    at most SLIVER_FILL of its box (a solid block of colour along the edge, as in a colour-noise photo,
    is neither)."""
    height, width = rows.stop - rows.start, cols.stop - cols.start
    deep, wide = max(2, math.ceil(SLIVER * h)), max(2, math.ceil(SLIVER * w))
    if (rows.stop <= deep or rows.start >= h - deep) and width >= along * w and width >= height:
        thickness, side = area / width, h
    elif (cols.stop <= wide or cols.start >= w - wide) and height >= along * h:
        thickness, side = area / height, w
    else:
        return False
    return thickness <= SLIVER_THIN * side or area <= SLIVER_FILL * height * width


def lift_framed(x: np.ndarray, background: float) -> np.ndarray:
    """`lift_ink` of an image cropped close to its ink (its strong ink, over half the brightest 3x3
    mean, spans TIGHT of its longer side or more) as if photographed with a margin: framed in its
    background to a square 1.5 times its longer side, lifted, and cut back to its own pixels. Without
    paper around it (and stretched to the flat-field's square copy when narrow), the opening took a
    close crop's strokes for paper and the digit came apart. Not an image of only shading
    (`only_shading`: an empty page under a lamp, its dark corners spanning it). The frame, at the
    background's level, makes the framed image clean (`is_clean`): it is lifted by subtraction, not
    flat-fielded (reports/preprocessing.md, *Empty pages*)."""
    h, w = x.shape
    smooth = ndimage.uniform_filter(x, 3)
    top = float(smooth.max())
    if (top - background < INK_MIN or ink_side(smooth - background, 0.5 * (top - background)) < TIGHT * max(h, w)
            or only_shading(x, smooth)):
        return lift_ink(x, background)
    side = (3 * max(h, w)) // 2
    dy, dx = (side - h) // 2, (side - w) // 2
    framed = np.pad(x, ((dy, side - h - dy), (dx, side - w - dx)), constant_values=background)
    return lift_ink(framed, background)[dy:dy + h, dx:dx + w]


def only_shading(x: np.ndarray, smooth: np.ndarray) -> bool:
    """Nothing in `x` stands SHADING over the paper's smooth light falloff (`light_falloff`): an empty page
    under a lamp, whose darkening corners span the photo like a close crop's strokes (`lift_framed`), but
    are only the light's slope, not ink. `smooth`: `x`'s 3x3 mean."""
    h, w = x.shape
    return float((smooth - stretched(light_falloff(coarse_copy(x)), w, h)).max()) < SHADING


def lift_ink(x: np.ndarray, background: float) -> np.ndarray:
    """`isolate_ink` before the printed lines are taken out: the background at 0, the ink scaled to 1."""
    if is_clean(x, background):
        x = np.clip(x - background, 0, 1)
        if x.max() < INK_MIN:
            raise no_ink("the image is blank")
        return x / x.max()
    return remove_background(x)


def oriented_size(img: Image.Image) -> tuple[int, int]:
    """The upload's (width, height) in full pixels after EXIF orientation, also when decoded at a reduced scale."""
    w, h = img.info.get("full_size", img.size)
    orientation = img.getexif().get(0x0112, 1) if not (img.format == "PNG" and "exif" not in img.info) else 1
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def to_png(image01: np.ndarray) -> bytes:
    """A 28x28 [0, 1] array as PNG bytes (for 'what the model sees')."""
    img = Image.fromarray(np.round(image01 * 255).astype(np.uint8), mode="L")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
