"""Large JPEGs (phone photos) are decoded at the scale the pixel work needs, colour ones straight to gray."""

import io

import numpy as np
from PIL import Image, ImageFilter

from app.ml.preprocess import WORK_SIDE, decode, paper_level, prepare
from support.images import encode, phone_jpeg


def colour_photo(size=(2400, 1800)) -> bytes:
    """Blue ink on warm, unevenly lit paper: every channel differs."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([230 - 30 * xx / w, 215 - 20 * yy / h, 170 + 0 * xx], -1)
    rgb[h // 4:3 * h // 4, w // 2 - 60:w // 2 + 60] = (30, 40, 150)  # a thick "1"
    return encode(Image.fromarray(rgb.astype(np.uint8)), "JPEG", quality=90)


def test_a_colour_jpeg_is_decoded_at_reduced_scale_to_the_luma_of_its_colour_decode():
    data = colour_photo()
    img = decode(data, 40_000_000, WORK_SIDE)
    assert img.mode == "L" and img.size == (600, 450) and img.info["full_size"] == (2400, 1800), "1/4 scale"
    reference = Image.open(io.BytesIO(data))
    reference.draft("RGB", (WORK_SIDE, WORK_SIDE))
    luma = np.asarray(reference.convert("L"), np.int16)
    assert reference.mode == "RGB" and np.abs(np.asarray(img, np.int16) - luma).max() <= 1


def test_a_cmyk_jpeg_keeps_its_mode_at_reduced_scale():
    img = decode(encode(Image.new("CMYK", (2400, 1800), (0, 0, 0, 30)), "JPEG"), 40_000_000, WORK_SIDE)
    assert img.mode == "CMYK" and img.size == (600, 450)


def test_a_12_mp_phone_photo_reaches_the_model_as_a_centred_digit_with_its_full_size(mnist_fixture):
    digit = mnist_fixture[0][0]
    prepared = prepare(phone_jpeg(digit))
    assert (prepared.width, prepared.height) == (4032, 3024) and prepared.inverted and prepared.glyphs == 1
    ink = prepared.image > 0.3
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    assert 14 <= rows[-1] - rows[0] + 1 <= 20 and 3 <= rows[0] and rows[-1] <= 24 and 3 <= cols[0] and cols[-1] <= 24


def test_the_paper_level_is_the_opening_that_pillows_rank_filters_compute():
    rng = np.random.default_rng(0)
    for shape in ((256, 192), (100, 300), (32, 32), (45, 7)):
        x = (rng.random(shape) * rng.uniform(0.1, 1)).astype(np.float32)
        x[: shape[0] // 3, : shape[1] // 2] += 0.3  # a lighter corner: the edges matter
        coarse = Image.fromarray(x, mode="F").resize((32, 32), Image.BOX)
        pillow = coarse.filter(ImageFilter.MinFilter(7)).filter(ImageFilter.MaxFilter(7)).resize(shape[::-1], Image.BILINEAR)
        assert np.array_equal(paper_level(x), np.asarray(pillow, dtype=np.float32)), shape
