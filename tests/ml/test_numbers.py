"""Segmentation of a line of digits on hand-built drawings, and the reading chosen from scores."""

import pytest

from app.ml import numbers
from tests.drawing import draw


def line(text: str, **kw) -> numbers.Line:
    return numbers.read_line(draw(text, **kw), 40_000_000)


@pytest.mark.parametrize("text", ["17", "2025", "0", "007", "1" * 20])
def test_separated_digits_are_one_glyph_each_from_left_to_right(text):
    glyphs = line(text, height=60, pen=6).glyphs
    assert len(glyphs) == len(text)
    assert [g.left for g in glyphs] == sorted(g.left for g in glyphs)


def test_a_touching_11_is_one_glyph_that_can_be_read_as_two_pieces():
    (glyph,) = line("11", gap=-0.45, pen=14).glyphs
    options = numbers.readings(glyph)
    assert all(len(parts) >= 2 for parts in options)
    parted = [parts for parts in options if len(parts) == 2 and parts[0].right <= parts[1].left + 2
              and min(p.height for p in parts) > 0.8 * glyph.height]
    assert parted, "one reading parts the two strokes, each whole"


def test_a_wide_glyph_is_offered_as_more_pieces():
    (glyph,) = line("2025", gap=-0.2, pen=10).glyphs
    assert max(len(parts) for parts in numbers.readings(glyph)) >= 4


def test_boxes_are_in_the_uploads_pixels():
    data = draw("17", height=120, pen=10, margin=40)
    ln = numbers.read_line(data, 40_000_000)
    boxes = [numbers.box(g, ln.scale) for g in ln.glyphs]
    assert ln.scale == 1.0
    (x1, y1, w1, h1), (x2, y2, w2, h2) = boxes
    assert 35 <= x1 <= 60 and 30 <= y1 <= 45 and 100 <= h1 <= 135
    assert x2 > x1 + w1 and 30 <= y2 <= 45


def test_a_large_upload_is_read_at_a_working_scale_and_boxed_in_its_own_pixels():
    data = draw("17", height=900, pen=60, margin=300)
    ln = numbers.read_line(data, 40_000_000)
    assert max(ln.ink.shape) <= numbers.LINE_SIDE and ln.scale < 1
    x, y, w, h = numbers.box(ln.glyphs[0], ln.scale)
    stroke_left = 300 + 0.3 * 900 * 0.6 - 30  # the 1's first point, less half the pen
    assert abs(x - stroke_left) <= 8 and 260 <= y <= 275 and 950 <= h <= 975


def test_no_ink_is_a_422_with_its_reason():
    blank = draw("1", pen=1, height=10, size=(200, 100), origin=(-500, -500))
    with pytest.raises(numbers.InputError) as err:
        numbers.read_line(blank, 40_000_000)
    assert err.value.status == 422 and err.value.reason == "no_ink"


def scored(digit, p_digit, p_one):
    return numbers.Scored(digit, p_digit, p_one)


def test_a_glyph_the_gate_takes_for_one_digit_is_not_split():
    assert not numbers.doubtful(scored(4, 0.9, 0.95))
    assert numbers.doubtful(scored(0, 0.8, 0.01))


def test_several_digits_in_one_glyph_take_the_best_split():
    scores = [[scored(0, 0.8, 0.01)], [scored(1, 0.99, 0.98), scored(1, 0.98, 0.99)],
              [scored(1, 0.6, 0.2), scored(1, 0.9, 0.3), scored(1, 0.5, 0.9)]]
    assert numbers.choose(scores) == 1
    assert numbers.choose([[scored(7, 0.99, 0.4)], [scored(1, 0.5, 0.5), scored(1, 0.5, 0.5)]]) == 0


def test_the_string_confidence_is_the_product_calibrated_by_the_exponent():
    chosen = [scored(1, 0.9, 1.0), scored(2, 0.8, 1.0)]
    assert numbers.string_confidence(chosen, 1.0) == pytest.approx(0.72)
    assert numbers.string_confidence(chosen, 0.5) == pytest.approx(0.72 ** 0.5)
