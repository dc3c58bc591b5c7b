"""A notebook page's printed lines are taken out of a photo's ink; anything else is left as it was."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.ml import rules
from app.ml.preprocess import prepare
from support.images import notebook_photo


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.mark.parametrize("paper", ["ruled", "squared"])
@pytest.mark.parametrize("tilt", [0.0, -4.0, 6.0])
def test_a_digit_photographed_on_notebook_paper_reaches_the_model_as_on_plain_paper(paper, tilt, mnist_fixture):
    digit = mnist_fixture[0][3]
    plain = prepare(notebook_photo(digit, "plain", tilt=tilt, seed=4)).image
    lined = prepare(notebook_photo(digit, paper, tilt=tilt, seed=4)).image
    assert correlation(plain, lined) > 0.65, "the same digit, in the same place (the page's lines would shrink it to a dot)"


def test_a_page_of_lines_is_found_with_its_tilt():
    img = Image.new("L", (256, 192), 0)
    draw = ImageDraw.Draw(img)
    slope = np.tan(np.radians(3.0))
    for y in range(10, 192, 24):
        draw.line([(0, y), (255, y + 255 * slope)], fill=60, width=1)
    draw.ellipse([100, 60, 150, 130], outline=255, width=6)
    x = np.asarray(img, np.float32) / 255
    found, bands = rules.line_bands(x > rules.LINE_INK)
    assert abs(np.degrees(np.arctan(found)) - 3.0) <= 0.5
    assert len(bands) >= 6
    cleaned = rules.remove_rules(x)
    assert cleaned[5:50].max() == 0 and cleaned[140:].max() == 0, "every line is gone"
    ring = cleaned[60:131, 100:151]
    assert (ring > 0.5).sum() > 0.8 * (x[60:131, 100:151] > 0.9).sum(), "the ring crossing the lines stays"


def strokes(*boxes, level=1.0) -> np.ndarray:
    x = np.zeros((192, 256), np.float32)
    for top, left, bottom, right in boxes:
        x[top:bottom, left:right] = level
    return x


@pytest.mark.parametrize("x", [
    strokes((20, 60, 170, 64), (20, 120, 170, 124), (20, 180, 170, 184)),  # "111" written tall and thin
    strokes((30, 20, 34, 236), (30, 220, 170, 226)),  # a 7 whose bar crosses the whole photo
    strokes(*[(y, 10, y + 2, 246) for y in range(20, 180, 30)]),  # a hatch: lines and nothing else
    strokes(*[(y, 10, y + 2, 246) for y in range(20, 180, 30)], (60, 100, 140, 106)),  # lines as bright as the ink
], ids=["111", "long bar", "hatch", "bright lines"])
def test_strokes_that_are_not_a_pages_faint_printed_lines_are_left_as_they_are(x):
    assert rules.remove_rules(x) is x


def test_ink_across_under_coverage_of_the_columns_is_not_searched_for_lines(monkeypatch):
    # Lines of digits spanning half the image held enough ink for the tilt search (~1 ms a direction)
    def searched(*args):
        raise AssertionError("the tilt was searched")

    digits = strokes(*[(40 + 10 * (i % 3), 20 + 25 * i, 150, 32 + 25 * i) for i in range(5)])  # 5 tall strokes
    monkeypatch.setattr(rules, "best_slope", searched)
    assert rules.line_bands(digits > rules.LINE_INK) == (0.0, [])
    wide = strokes(*[(y, 10, y + 2, 246) for y in range(20, 180, 30)])
    with pytest.raises(AssertionError, match="searched"):  # a page's lines cross it: searched
        rules.line_bands(wide > rules.LINE_INK)


def test_two_faint_lines_are_not_a_ruled_page():
    x = strokes((40, 0, 42, 256), (120, 0, 122, 256), level=0.3) + strokes((60, 100, 140, 106))
    assert rules.remove_rules(x) is x


def test_shearing_is_exact_and_invertible():
    rng = np.random.default_rng(0)
    x = rng.random((40, 70)).astype(np.float32)
    rows = rules.shear(x, np.tan(np.radians(-5)))
    sheared = np.zeros((rows.max() + 1, 70), np.float32)
    sheared[rows, np.arange(70)[None, :]] = x
    assert np.array_equal(sheared[rows, np.arange(70)[None, :]], x)
    assert (np.diff(rows, axis=0) == 1).all(), "each column keeps its pixels in order, one row apart"


@pytest.mark.parametrize("shape", [(1, 256), (256, 1), (3, 256), (15, 400), (16, 16)])
def test_slivers_and_tiny_images_come_back_unchanged(shape):
    x = np.full(shape, 0.3, np.float32)
    x[0, 0] = 1.0
    assert rules.remove_rules(x) is x


def test_a_digits_detached_piece_stays_while_the_lines_specks_go():
    x = strokes(*[(y, 0, y + 2, 256) for y in range(12, 192, 30)], level=0.2)
    x = np.maximum(x, strokes((70, 120, 130, 126)))  # a 5's stem and curve, as one stroke
    x = np.maximum(x, strokes((56, 122, 60, 146)))  # its bar, apart from it and lying near a line
    x[150:152, 30:32] = 0.35  # a crossing darker than the lines, alone
    x[100:101, 3:10] = 0.6  # a bright speck at the photo's edge (the page's own edge)
    cleaned = rules.remove_rules(x)
    assert cleaned[56:60, 122:146].min() > 0.9 and cleaned[70:130, 120:126].min() > 0.7
    assert cleaned[150:152, 30:32].max() == 0 and cleaned[100, 3:10].max() == 0
    assert cleaned[:, :100].max() == 0, "no trace of the lines"


def test_a_strokes_edge_split_into_thin_bands_is_one_band_but_a_pages_lines_stay_apart():
    edge = [(109, 109), (114, 119), (123, 123), (125, 125), (130, 130), (134, 134)]  # a tall 6's stem, seen on a canvas
    assert rules.spaced(edge, 6) == [(109, 134)]
    lines = [(10, 12), (22, 24), (34, 35), (47, 49)]
    assert rules.spaced(lines, 6) == lines


@pytest.mark.parametrize("maker", ["canvas_transparent", "canvas_white_on_black", "scan", "photo"])
def test_realistic_uploads_without_lines_come_back_unchanged(maker, mnist_fixture, monkeypatch):
    import tests.realistic as realistic
    from app.ml import preprocess

    changed = []

    def watched(x):
        out = rules.remove_rules(x)
        changed.append(out is not x)
        return out

    monkeypatch.setattr(preprocess, "remove_rules", watched)
    rng = np.random.default_rng(1)
    for digit in mnist_fixture[0][:150]:
        prepare(getattr(realistic, maker)(digit, rng))
    assert len(changed) == 150 and not any(changed)


def test_faint_one_pixel_lines_go_and_the_pens_strokes_stay():
    ink = np.zeros((100, 100), np.float32)
    ink[:, 30] = ink[60, :] = 0.6  # a grid's lines
    ink[20:80, 50:56] = 1.0  # a stroke 6 px wide
    out = rules.without_thin_lines(ink)
    assert out[20:80, 50:56].min() == 1.0
    assert out[:, 30].max() == 0 and out[60, :45].max() == 0 and out[60, 62:].max() == 0


def ring(x: np.ndarray, box: tuple[int, int, int, int], width: int = 3) -> np.ndarray:
    """`x` with a bright ring (a 0) drawn in `box` (left, top, right, bottom)."""
    img = Image.fromarray((x * 255).astype(np.uint8))
    ImageDraw.Draw(img).ellipse(box, outline=255, width=width)
    return np.asarray(img, np.float32) / 255


def margin_line(x: np.ndarray, left: int, tilt: float = 2.0, level: float = 0.6) -> np.ndarray:
    """`x` with a thin line from its top to its bottom, `left` px in at the top, turned by `tilt` degrees."""
    img = Image.fromarray((x * 255).astype(np.uint8))
    h = x.shape[0]
    ImageDraw.Draw(img).line([(left, 0), (left + h * np.tan(np.radians(tilt)), h)], fill=int(255 * level), width=1)
    return np.asarray(img, np.float32) / 255


@pytest.mark.parametrize("ruled", [False, True], ids=["plain", "ruled"])
def test_a_pages_margin_line_goes_and_the_digit_beside_it_stays(ruled):
    # A red margin line down a school page is one line, where a page's rules are three or more: it
    # stayed ink, was cropped with the digit, and the digit shrank to a speck beside it.
    x = strokes(*[(y, 0, y + 1, 256) for y in range(12, 192, 24)], level=0.2) if ruled else strokes()
    x = ring(margin_line(x, 40), (150, 70, 180, 115))
    out = rules.remove_rules(x)
    assert out[:, :80].max() == 0, "no trace of the margin line"
    assert (out[70:116, 150:181] > 0.5).sum() >= 0.8 * (x[70:116, 150:181] > 0.9).sum(), "the 0 stays"


@pytest.mark.parametrize("tilt", [0.0, 2.0, -3.5])
def test_a_margin_line_alone_on_a_ruled_page_goes_too(tilt):
    # An empty school page: no writing beside its margin line, but the page's rules say the line is the
    # page's (it stayed, and was read as a 1). Without the rules it would be a 1 drawn down a canvas (below).
    x = margin_line(strokes(*[(y, 0, y + 1, 256) for y in range(12, 192, 24)], level=0.2), 40, tilt=tilt, level=1.0)
    assert rules.remove_rules(x).max() < rules.RESIDUE


def test_a_band_of_shading_is_no_printed_line():
    # An empty school page (the light falling off down it), read at 512 px: what the flat-field leaves of
    # the shading is a level over the page's lower part, and its columns crossed it as a grid's lines do,
    # but the columns beside them stand as high. Taken for squared paper, the page kept its margin line
    # (cut into pieces by the rules), which was read as a 1.
    from app.ml import preprocess
    from support.images import school_page_photo

    x, background, *_ = preprocess.read_upload(school_page_photo(np.zeros((28, 28), np.uint8), seed=0), 10**8, 512)
    lifted = preprocess.lift_framed(preprocess.downscale_to(x, 512), background)
    across, down = rules.printed_lines(lifted)
    assert across is not None and down is None


def test_an_answer_line_across_the_page_goes_and_the_digit_written_on_it_stays():
    x = ring(strokes((150, 8, 152, 250), level=0.8), (110, 90, 140, 140))
    out = rules.remove_rules(x)
    assert out[146:156].max() == 0 and (out[90:141, 110:141] > 0.5).sum() >= 0.8 * (x[90:141, 110:141] > 0.9).sum()


@pytest.mark.parametrize("x", [
    strokes((5, 126, 187, 128)),  # a hairline 1 drawn from the canvas's top to its bottom, alone
    np.maximum(strokes((5, 126, 187, 128)), strokes((90, 200, 92, 202))),  # ... and a speck of grain beside it
    strokes((80, 5, 83, 251), (110, 5, 113, 251)),  # an "=" across the canvas
    ring(strokes((5, 126, 187, 128)), (140, 45, 180, 137)),  # "10", its 1 from top to bottom, its 0 half as tall
], ids=["hairline 1", "1 and grain", "equals", "10"])
def test_a_long_stroke_of_the_writing_itself_is_no_margin_line(x):
    assert rules.remove_rules(x) is x
