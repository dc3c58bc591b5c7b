"""The line model's input and output: straightening and scaling a line, reading CTC outputs, the
string's probability, and each digit's place."""

import math

import numpy as np
import pytest
from PIL import Image

from app.ml import lines
from app.ml.lines import BLANK, FRAME
from support.drawing import draw, ink_of


def tilted(text: str, degrees: float) -> np.ndarray:
    ink = ink_of(draw(text, height=80, pen=8, margin=60, background="black"))
    return np.asarray(Image.fromarray(ink, "F").rotate(degrees, resample=Image.BILINEAR, expand=True), np.float32)


@pytest.mark.parametrize("degrees", [-5, -2, 0, 3, 5])
def test_a_tilted_line_is_measured_at_its_own_slope(degrees):
    # PIL turns counter-clockwise: the line then rises to the right, a negative slope (y grows downwards).
    assert lines.skew(tilted("2345701", degrees)) == pytest.approx(-degrees, abs=1.0)


@pytest.mark.parametrize("degrees", [-28, -18, 15, 25, 32])
def test_a_line_photographed_turned_is_measured_at_its_own_slope(degrees):
    # Beyond MAX_SKEW a fitted slope was taken for the digits' own shape; ink that is plainly a line (long,
    # in several pieces) has the line's principal axis.
    assert lines.skew(tilted("2345701", degrees)) == pytest.approx(-degrees, abs=1.0)
    assert lines.skew(tilted("502", degrees)) == pytest.approx(-degrees, abs=3.5)  # a short line: the digits tip it


@pytest.mark.parametrize(("text", "degrees"), [("7", 8), ("7", 25), ("4", 30), ("1", 35), ("2", -20)])
def test_one_digit_is_never_straightened(text, degrees):
    assert lines.skew(tilted(text, degrees)) == 0.0


def test_the_strip_holds_the_ink_at_mnists_height_whatever_the_slope():
    for degrees in (0, 5):
        strip = lines.line_image(tilted("2025", degrees))
        assert strip.image.shape[0] == lines.LINE_HEIGHT
        rows = np.flatnonzero((strip.image > lines.INK).any(1))
        assert lines.INK_HEIGHT - 2 <= rows[-1] - rows[0] + 1 <= lines.INK_HEIGHT + 1
        assert (strip.image[:, :lines.MARGIN - 1] == 0).all() and (strip.image[:, -lines.MARGIN + 1:] == 0).all()


def test_the_strip_maps_back_onto_the_working_image():
    ink = tilted("17", 4)
    strip = lines.line_image(ink)
    ys, xs = np.nonzero(ink > 0.3)
    cols = np.flatnonzero((strip.image > lines.INK).any(0))
    x0, y0, x1, y1 = lines.work_box(strip, cols[0], cols[-1] + 1)
    # The box of the straightened ink, turned back: as wide as the ink, a little taller (the tilt).
    assert abs(x0 - xs.min()) <= 5 and abs(x1 - xs.max()) <= 6
    slack = math.sin(math.radians(4)) * (xs.max() - xs.min()) + 6
    assert xs.min() - 1 <= x0 and 0 <= ys.min() - y0 <= slack and 0 <= y1 - ys.max() <= slack


def test_a_very_long_line_is_shrunk_to_the_widest_strip():
    ink = np.zeros((40, 6000), np.float32)
    ink[10:30, 50:5950:40] = 1
    assert lines.line_image(ink).image.shape[1] == lines.MAX_WIDTH


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_a_stretched_view_maps_its_ink_back_onto_the_same_working_pixels(factor):
    strip = lines.line_image(tilted("2025", 3))
    view = lines.stretched(strip, factor)
    assert view.image.shape[0] == lines.LINE_HEIGHT
    core = strip.image.shape[1] - 2 * lines.MARGIN
    assert view.image.shape[1] - 2 * lines.MARGIN == round(core * factor)
    assert (view.image[:, :lines.MARGIN] == 0).all() and (view.image[:, -lines.MARGIN:] == 0).all()
    boxes = []
    for s in (strip, view):
        cols = np.flatnonzero((s.image > lines.INK).any(0))
        boxes.append(lines.work_box(s, cols[0], cols[-1] + 1))
    assert np.allclose(boxes[0], boxes[1], atol=4)


def test_the_views_are_the_strip_first_then_its_stretches():
    strip = lines.line_image(tilted("17", 0))
    views = lines.views(strip)
    assert views[0] is strip and len(views) == len(lines.STRETCHES)
    assert [v.image.shape[1] for v in views] != [strip.image.shape[1]] * len(views)


def test_no_ink_gives_no_strip():
    assert lines.line_image(np.zeros((50, 50), np.float32)) is None


def frames(*labels: int, p: float = 0.9) -> np.ndarray:
    """Log-probabilities with `p` on each frame's label and the rest spread evenly."""
    out = np.full((len(labels), 11), (1 - p) / 10)
    out[np.arange(len(labels)), labels] = p
    return np.log(out)


def test_best_path_collapses_repeats_and_drops_blanks():
    read = lines.best_path(frames(BLANK, 1, 1, BLANK, 1, BLANK, 7, 7, BLANK, 0))
    assert [d for d, _ in read] == [1, 1, 7, 0]
    assert [t for _, t in read][2] in (6, 7)


def test_the_strings_probability_sums_every_alignment_as_torchs_ctc_does():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    log_probs = np.log(rng.dirichlet(np.ones(11), size=12))
    for digits in ([3], [1, 1], [2, 0, 2], [4, 4, 4]):
        expected = -torch.nn.functional.ctc_loss(
            torch.from_numpy(log_probs)[:, None], torch.tensor([digits]), torch.tensor([12]),
            torch.tensor([len(digits)]), blank=BLANK, reduction="sum").item()
        assert lines.string_log_prob(log_probs, digits) == pytest.approx(expected, abs=1e-6)


def test_the_views_agree_on_the_string_most_probable_over_all_of_them():
    # The first view reads 71, its 7 barely ahead of a 1; the other two read 11, the best string over all three.
    first = np.log(np.array([[.01] * 10 + [.9], [.02, .46] + [.02] * 5 + [.5, .02, .02, .02], [.01] * 10 + [.9],
                             [.02, .9] + [.01] * 9, [.01] * 10 + [.9]]))
    second = frames(BLANK, 1, BLANK, 1, BLANK)
    third = frames(BLANK, 1, 1, BLANK, 1, BLANK)
    reading = lines.consensus([first, second, third])
    assert [d for d, _ in lines.best_path(first)] == [7, 1]
    assert [d for d, _ in reading.digits] == [1, 1] and reading.view == 1
    expected = np.mean([lines.string_log_prob(x, [1, 1]) for x in (first, second, third)])
    assert reading.log_p == pytest.approx(expected)


def test_the_consensus_of_views_that_all_read_nothing_is_none():
    assert lines.consensus([frames(BLANK, BLANK), frames(BLANK, BLANK, BLANK)]) is None


def test_a_sure_reading_has_probability_near_one():
    log_p = lines.string_log_prob(frames(BLANK, 2, BLANK, 5, p=0.999), [2, 5])
    assert math.exp(log_p) > 0.99


def test_each_digit_spans_its_own_ink_parted_where_there_is_least():
    image = np.zeros((28, 80), np.float32)
    image[4:24, 10:20] = 1
    image[4:24, 30:45] = 1
    image[4:24, 60:70] = 1
    read_at = [14 // FRAME, 37 // FRAME, 64 // FRAME]
    assert lines.spans(image, read_at) == [(10, 20), (30, 45), (60, 70)]


def test_a_digits_probability_is_its_share_of_the_non_blank_outputs():
    log_probs = frames(BLANK, 3, 3, BLANK, p=0.8)
    share = (2 * 0.8 + 2 * 0.02) / (2 * 0.98 + 2 * 0.2)
    assert lines.digit_probability(log_probs, 3, 0, 4 * FRAME) == pytest.approx(share, rel=1e-6)


def test_a_digit_read_where_there_is_no_ink_gets_a_blank_crop_not_an_error():
    image = np.zeros((28, 60), np.float32)
    image[4:24, 40:50] = 0.04  # a trace fainter than any ink
    out = lines.crop(lines.Strip(image, lines.affine()), 30, 55)
    assert out.shape == (28, 28) and not out.any()


def test_a_digit_crop_is_a_28x28_picture_of_its_ink():
    image = np.zeros((28, 60), np.float32)
    image[4:24, 20:30] = 1
    out = lines.crop(lines.Strip(image, lines.affine()), 15, 35)
    assert out.shape == (28, 28) and out.max() > 0.9
    rows = np.flatnonzero(out.max(1) > 0.5)
    assert rows[-1] - rows[0] + 1 >= 19


def test_a_digit_read_just_before_its_ink_keeps_its_ink():
    """The line model can peak a frame or two before a narrow digit's ink (a "1" drawn with one stroke on
    the page's canvas): the cut between it and the next digit goes in the gap after its ink, not in the
    blank before it, which handed the 1 to the 2's box (seen in the page: "1" boxed on empty canvas)."""
    image = np.zeros((28, 90), np.float32)
    image[4:24, 20:24] = 1  # the 1
    image[4:24, 45:70] = 1  # the 2
    read_at = [12 // FRAME, 56 // FRAME]  # the 1's peak 8 columns before its ink
    assert lines.spans(image, read_at) == [(20, 24), (45, 70)]
