"""Phone photos: large JPEGs are decoded at the scale the pixel work needs, colour ones straight to gray;
HEIC (an iPhone's format) is decoded upright, by a decoder loaded only when one arrives."""

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageFilter

from app.ml.preprocess import (
    FAINT,
    FALLOFF_MARGIN,
    WORK_SIDE,
    InputError,
    decode,
    is_heic,
    light_falloff,
    opening,
    paper_level,
    prepare,
    sorted_median,
    sorted_percentile,
    without_faint_pieces,
)
from support.images import (
    encode,
    heic,
    lamp_photo,
    notebook_desk_photo,
    notebook_photo,
    phone_heic,
    phone_jpeg,
    png,
    school_page_photo,
    whiteboard_photo,
)


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


@pytest.mark.parametrize("share", [0.03, 0.06])
def test_a_small_digit_in_a_12_mp_photo_is_read_again_at_the_detail_scale(mnist_fixture, share):
    # 3% of the height: 91 px of 3024, 6 px at the work scale, where it is no ink that stands out;
    # 6%: 11 px there, a smudge. At DETAIL_SIDE it is a digit again.
    prepared = prepare(phone_jpeg(mnist_fixture[0][0], share=share, at=(0.3, 0.7)))
    assert (prepared.width, prepared.height) == (4032, 3024) and prepared.glyphs == 1
    ink = prepared.image > 0.3
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    assert 14 <= rows[-1] - rows[0] + 1 <= 20 and 3 <= rows[0] and rows[-1] <= 24 and 3 <= cols[0] and cols[-1] <= 24


def test_ink_across_both_sides_is_a_page_and_a_digit_or_one_long_line_is_not():
    from app.ml.preprocess import spans_page

    page = np.zeros((192, 256), np.float32)
    page[::20, :] = 1.0  # ruled lines, top to bottom
    assert spans_page(page)
    one_line = np.zeros((192, 256), np.float32)
    one_line[100, :] = 1.0
    digit = np.zeros((192, 256), np.float32)
    digit[20:180, 100:110] = 1.0
    assert not spans_page(one_line) and not spans_page(digit)


@pytest.mark.parametrize("paper, seed, tilt", [("ruled", 3, 0.0), ("squared", 3, 0.0), ("ruled", 501, -1.0),
                                              ("squared", 505, 1.0)])
def test_an_empty_notebook_page_photographed_from_afar_stays_without_ink(paper, seed, tilt):
    # The finer window reading finds no digit in the lines. A page photo is not framed as a close crop
    # (`lift_framed`): its lines span it, and framed they stood out as ink (seeds 501 and 505).
    from support.images import notebook_photo

    with pytest.raises(InputError) as refused:
        prepare(notebook_photo(np.zeros((28, 28), np.uint8), paper, tilt=tilt, seed=seed, size=(4032, 3024)))
    assert refused.value.reason == "no_ink"


def test_a_digit_on_a_ruled_page_photographed_from_afar_reaches_the_model_as_a_centred_digit(mnist_fixture):
    prepared = prepare(notebook_photo_12mp(mnist_fixture[0][6], "ruled"))  # a 7
    assert (prepared.width, prepared.height) == (4032, 3024) and prepared.glyphs == 1
    ink = prepared.image > 0.3
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    # the digit's box scaled to 20 px (not the page's lines), inside the frame (a 7's mass sits high)
    assert 16 <= max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21
    assert 1 <= rows[0] and rows[-1] <= 26 and 1 <= cols[0] and cols[-1] <= 26


@pytest.mark.parametrize("k, tilt", [(6, 2.5), (7, -3.0), (11, 3.5)])
def test_a_small_digit_on_a_plain_page_photographed_from_afar_fills_the_models_box(mnist_fixture, k, tilt):
    photo = notebook_photo_12mp_plain(mnist_fixture[0][k], tilt, k)
    ink = prepare(photo).image > 0.3
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    assert 16 <= max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21, "the digit fills the 20-px box"


def test_squared_paper_is_a_grid_and_ruled_paper_is_not(mnist_fixture):
    from app.ml.preprocess import remove_background
    from app.ml.rules import is_grid

    def ink(paper):  # a 600-px window around the digit, at the work scale, white on black, paper removed
        gray = Image.open(io.BytesIO(notebook_photo_12mp(mnist_fixture[0][6], paper))).convert("L")
        x = np.asarray(gray.crop((1716, 1212, 2316, 1812)).resize((256, 256), Image.BOX), np.float32) / 255
        return remove_background(1 - x)

    assert is_grid(ink("squared")) and not is_grid(ink("ruled"))


def notebook_photo_12mp_plain(digit: np.ndarray, tilt: float, seed: int) -> bytes:
    from support.images import notebook_photo

    return notebook_photo(digit, "plain", tilt=tilt, seed=seed, size=(4032, 3024))


def test_a_small_digit_is_judged_small_by_its_strong_ink_not_by_faint_haze_around_it():
    # Haze at 0.05-0.1 of the ink's level left by a flat-field (light it did not follow, a turned photo's
    # corners) spanned ~100 px at 256 px around a digit 8 px across: judged by that box the digit was
    # "read" at 256 px and shrunk with the haze into a dot.
    from app.ml.preprocess import SMALL_INK, unread

    x = np.zeros((192, 256), np.float32)
    x[40:150, 30:200] = 0.08
    x[90:98, 100:106] = 1.0
    assert unread(x, fine=True)
    x[60:130, 80:130] = 1.0  # a digit of 70 px is read at this scale
    assert not unread(x[:, :], fine=True) and SMALL_INK < 70


def notebook_photo_12mp(digit: np.ndarray, paper: str) -> bytes:
    from support.images import notebook_photo

    return notebook_photo(digit, paper, tilt=2.0, seed=6, size=(4032, 3024))


def test_the_opening_is_the_one_that_pillows_rank_filters_compute():
    rng = np.random.default_rng(0)
    for shape in ((256, 192), (100, 300), (32, 32), (45, 7)):
        x = (rng.random(shape) * rng.uniform(0.1, 1)).astype(np.float32)
        x[: shape[0] // 3, : shape[1] // 2] += 0.3  # a lighter corner: the edges matter
        coarse = Image.fromarray(x, mode="F").resize((32, 32), Image.BOX)
        pillow = coarse.filter(ImageFilter.MinFilter(7)).filter(ImageFilter.MaxFilter(7))
        assert np.array_equal(opening(np.asarray(coarse)), np.asarray(pillow, dtype=np.float32)), shape


def lamp_lit_page(falloff: float) -> np.ndarray:
    """A 32x32 page (ink bright, as the pipeline sees it) darkening towards its corners by `falloff`, with
    strokes of ink over a fifth of it."""
    v, u = np.mgrid[-1:1:32j, -1:1:32j]
    page = (0.1 + falloff * (u ** 2 + v ** 2) / 2).astype(np.float32)
    strokes = page.copy()
    strokes[4:28, 14:17] = 0.9  # a 1
    strokes[8:11, 5:27] = 0.9  # and a bar across it
    return page, strokes


def test_the_light_falloff_is_fitted_to_the_paper_and_not_to_the_ink():
    page, strokes = lamp_lit_page(0.4)
    assert np.abs(light_falloff(strokes) - page).max() < 0.01


def test_the_paper_level_follows_a_lamps_falloff_into_the_corners_where_the_opening_alone_falls_short():
    # The opening of a surface that rises into the corners (in the pipeline's polarity) stays under it by
    # up to 0.1 there: after the flat-field the corners were "ink" and the crop took the whole photo.
    page, strokes = lamp_lit_page(0.4)
    x = np.asarray(Image.fromarray(strokes, mode="F").resize((256, 256), Image.BILINEAR))
    corners = (slice(0, 16), slice(0, 16))
    assert (x - np.asarray(Image.fromarray(opening(strokes), mode="F").resize((256, 256), Image.BILINEAR)))[corners].max() > 0.05
    assert (x - paper_level(x))[corners].max() < FALLOFF_MARGIN + 0.01


def test_on_evenly_lit_paper_the_paper_level_is_the_plain_opening():
    # The falloff's correction stands back where it would move the level by under FALLOFF_MARGIN: a photo
    # without falloff is cleaned exactly as before it (1,816 of 1,830 uploads of the realistic sets
    # bit-identical; the 14 others were lit unevenly).
    page, strokes = lamp_lit_page(0.0)
    rng = np.random.default_rng(1)
    x = np.asarray(Image.fromarray(strokes, mode="F").resize((256, 192), Image.BILINEAR)) + rng.normal(0, 0.01, (192, 256))
    x = x.astype(np.float32)
    coarse = np.asarray(Image.fromarray(x, mode="F").resize((32, 32), Image.BOX))
    plain = np.asarray(Image.fromarray(opening(coarse), mode="F").resize((256, 192), Image.BILINEAR))
    assert np.array_equal(paper_level(x), plain)


@pytest.mark.parametrize("seed", range(4))
def test_a_digit_photographed_under_a_lamp_reaches_the_model_as_under_even_light(mnist_fixture, seed):
    # The light 45% weaker in the farthest corner: the corners were kept as ink, the digit shrank into
    # a speck of the crop and was refused (14 of 100 MNIST test digits at 35%, 93 at 50%).
    digit = mnist_fixture[0][seed]
    even, lamp = prepare(lamp_photo(digit, 0.0, seed=seed)), prepare(lamp_photo(digit, 0.45, seed=seed))
    assert lamp.glyphs == 1 and np.abs(lamp.image - even.image).mean() < 0.03  # 0.045-0.09 before


@pytest.mark.parametrize("falloff,seed", [(0.35, 0), (0.35, 1), (0.5, 0), (0.5, 1), (0.5, 3)])
def test_an_empty_page_under_a_lamp_holds_no_ink(falloff, seed):
    # Its darkening corners span the photo as a close crop's strokes do: framed as a close crop
    # (`lift_framed`), they stood out as ink, a crescent read as a 1 (these five; 8 of 60 such photos).
    with pytest.raises(InputError) as refused:
        prepare(lamp_photo(np.zeros((28, 28), np.uint8), falloff, seed=seed))
    assert refused.value.reason == "no_ink"


EMPTY_PAGES = {"squared": lambda seed: notebook_photo(np.zeros((28, 28), np.uint8), "squared", seed=seed),
               "ruled": lambda seed: notebook_photo(np.zeros((28, 28), np.uint8), "ruled", seed=seed),
               "school": lambda seed: school_page_photo(np.zeros((28, 28), np.uint8), seed=seed),
               "on a desk": lambda seed: notebook_desk_photo(np.zeros((28, 28), np.uint8), seed=seed)}


@pytest.mark.parametrize("page,seed", [("squared", 0), ("squared", 7), ("ruled", 0), ("ruled", 9), ("school", 3),
                                       ("on a desk", 6), ("on a desk", 11)])
def test_what_an_empty_pages_lines_leave_is_no_ink_for_two_averaged_digits(page, seed):
    # Thin remnants of the page's lines across the photo, shrunk to 28x28, lie at several faint levels like
    # two averaged digits' ink: prepared for the overlap model, which named digits (squared pages 20 of 20).
    with pytest.raises(InputError) as refused:
        prepare(EMPTY_PAGES[page](seed), pen=False)
    assert refused.value.reason == "no_ink"


def test_two_averaged_digits_photographed_on_a_page_reach_the_overlap_model_at_a_pens_level(mnist_fixture):
    from training.data import pair_images

    pairs = np.round(pair_images(mnist_fixture[0], np.arange(16).reshape(8, 2)) * 255).astype(np.uint8)
    for seed, pair in enumerate(pairs):
        for photo in (notebook_photo(pair, "squared", seed=seed), school_page_photo(pair, seed=seed)):
            assert prepare(photo, pen=False).image.max() >= 0.5


@pytest.mark.parametrize("n", [1, 2, 7, 48, 49_152, 49_153])
def test_the_median_and_percentiles_from_a_sorted_copy_are_numpys_bit_for_bit(n):
    rng = np.random.default_rng(n)
    for values in (rng.normal(0, 0.1, n), rng.integers(0, 5, n) / 4):  # smooth, and many ties
        x = values.astype(np.float32)
        s = np.sort(x)
        assert sorted_median(s) == float(np.median(x))
        for q in (0, 50, 90, 99.5, 99.95, 100):
            assert sorted_percentile(s, q) == float(np.percentile(x, q)), q


def test_heic_is_told_by_its_brands_and_avif_jpeg_and_png_are_not():
    img = Image.new("RGB", (64, 48), "white")
    assert is_heic(heic(img))
    for other in (encode(img, "AVIF"), encode(img, "JPEG"), encode(img, "PNG"), b"", b"\x00\x00\x00\x18ftyp"):
        assert not is_heic(other), other[:16]


def test_an_iphone_heic_photo_stored_turned_reaches_the_model_as_the_upright_jpeg_does(mnist_fixture):
    digit = mnist_fixture[0][0]
    from_heic, from_jpeg = prepare(phone_heic(digit)), prepare(phone_jpeg(digit, (1344, 1008)))
    assert (from_heic.width, from_heic.height) == (1344, 1008) and from_heic.inverted
    assert np.abs(from_heic.image - from_jpeg.image).mean() < 0.02, "the same digit, upright"


def test_a_truncated_or_damaged_heic_is_a_415_and_a_heic_over_the_pixel_limit_a_413():
    data = heic(Image.new("RGB", (300, 300), "white"), quality=90)
    for cut in (len(data) // 4, len(data) // 2, len(data) - 10):
        with pytest.raises(InputError) as exc:
            prepare(data[:cut])
        assert exc.value.status == 415, cut
    with pytest.raises(InputError) as exc:
        prepare(data, max_pixels=300 * 299)
    assert exc.value.status == 413


def test_the_heic_decoder_is_imported_by_the_first_heic_upload_not_before(mnist_fixture, tmp_path):
    (tmp_path / "digit.png").write_bytes(png(mnist_fixture[0][0]))
    (tmp_path / "digit.heic").write_bytes(heic(Image.new("RGB", (120, 90), "white").convert("RGB"), quality=90))
    script = (
        "import sys; from pathlib import Path; from app.ml.preprocess import prepare, InputError\n"
        f"d = Path({str(tmp_path)!r})\n"
        "prepare((d / 'digit.png').read_bytes()); print('pillow_heif' in sys.modules)\n"
        "try: prepare((d / 'digit.heic').read_bytes())\n"
        "except InputError as e: print(e.status)\n"
        "print('pillow_heif' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "422", "True"], "a blank HEIC decoded (no ink: 422) only after the import"


def test_the_strong_part_of_a_small_digit_among_faint_lines_is_the_digit_alone_and_wide_ink_is_kept():
    from app.ml.preprocess import strong_part

    page = np.zeros((384, 512), np.float32)
    page[::20, :] = 0.2  # faint printed lines across the page
    page[180:205, 250:262] = 1.0  # a small digit's strokes, 25 px tall
    kept = strong_part(page)
    near = np.zeros(page.shape, bool)
    near[178:207, 248:264] = True  # the digit and two pixels around it
    assert np.array_equal(kept[near], page[near]) and not kept[~near].any(), "the lines away from it are gone"
    wide = page.copy()
    wide[300, 20:400] = 1.0  # strong ink across the page: not a small digit
    assert np.array_equal(strong_part(wide), wide)


def test_faint_pieces_beside_strong_ink_are_dropped_and_faint_ink_alone_or_touching_stays():
    x = np.zeros((60, 80), np.float32)
    x[10:40, 10:14] = 1.0  # a stroke
    x[50:55, 70:75] = FAINT - 0.05  # a faint blotch far from it
    x[40:44, 10:14] = 0.1  # the stroke's own faint end, touching it
    kept = without_faint_pieces(x)
    assert kept[50:55, 70:75].max() == 0, "the faint piece apart is dropped"
    assert np.array_equal(kept[:45], x[:45]), "the stroke and what touches it stay as they were"
    alone = np.where(x < FAINT, x, 0).astype(np.float32)  # only faint ink: nothing reaches FAINT
    assert np.array_equal(without_faint_pieces(alone), alone)
    x[50:55, 70:75] = FAINT  # a piece that reaches FAINT is writing
    assert np.array_equal(without_faint_pieces(x), x)


@pytest.mark.parametrize("seed", [0, 3, 8, 13, 14])
def test_a_digit_on_a_whiteboard_with_glare_fills_the_models_box(mnist_fixture, seed):
    # What the flat-field leaves of the board's blotches and glare used to widen the crop: the digit
    # reached the model 3-18 px tall in a corner of its box instead of MNIST's 20.
    x = prepare(whiteboard_photo(mnist_fixture[0][seed], seed=seed)).image
    rows, cols = np.flatnonzero((x > 0.3).any(1)), np.flatnonzero((x > 0.3).any(0))
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 >= 19


def test_a_printed_frame_around_the_writing_is_taken_out_and_a_drawn_square_alone_is_not():
    from app.ml.preprocess import without_frame

    framed = np.zeros((100, 100), np.float32)
    framed[5:8, 5:95] = framed[92:95, 5:95] = framed[5:95, 5:8] = framed[5:95, 92:95] = 0.8  # the box
    framed[30:70, 45:52] = 1.0  # a 1 inside it
    out = without_frame(framed)
    assert out[5:8].max() == 0 and out[:, 92:95].max() == 0, "the frame is gone"
    assert np.array_equal(out[30:70, 45:52], framed[30:70, 45:52]), "the writing stays"
    square = framed.copy()
    square[30:70, 45:52] = 0  # only the square: nothing would stay inside it
    assert np.array_equal(without_frame(square), square)
    seven = np.zeros((100, 100), np.float32)
    seven[10:16, 10:90] = 1.0  # a 7's bar spans its top, but no other side is drawn along
    seven[16:90, 80:86] = 1.0
    assert np.array_equal(without_frame(seven), seven)
