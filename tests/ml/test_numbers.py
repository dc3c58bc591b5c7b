"""The number reader around the line model: glyphs and strip of hand-built drawings, boxes in the
upload's pixels, and the answer assembled from given line-model outputs and gate verdicts."""

import math

import numpy as np
import pytest

from app.ml import lines, numbers
from app.ml.ink import Glyph
from app.ml.lines import BLANK, FRAME
from support.drawing import draw


def line(text: str, **kw) -> numbers.Line:
    return numbers.read_line(draw(text, **kw), 40_000_000)


@pytest.mark.parametrize("text", ["17", "2025", "0", "007", "1" * 20])
def test_separated_digits_are_one_glyph_each_from_left_to_right(text):
    glyphs = line(text, height=60, pen=6).glyphs
    assert len(glyphs) == len(text)
    assert [g.left for g in glyphs] == sorted(g.left for g in glyphs)


def test_the_line_model_reads_a_strip_of_the_whole_line():
    ln = line("2025", height=100, pen=10)
    assert ln.strip.image.shape[0] == lines.LINE_HEIGHT
    assert len(numbers.glyph_inputs(ln)) == 4 and all(x.shape == (28, 28) for x in numbers.glyph_inputs(ln))


def outputs_reading(ln: numbers.Line, digits: list[int], p: float = 0.95) -> list[np.ndarray]:
    """Line-model outputs on each of the line's views that read `digits`, one at the centre of each
    glyph's columns in the view."""
    return [view_reading(strip, ln.glyphs, digits, p) for strip in ln.views]


def view_reading(strip: lines.Strip, glyphs, digits: list[int], p: float) -> np.ndarray:
    n = strip.image.shape[1] // FRAME
    labels = np.full(n, BLANK)
    inverse = np.linalg.inv(strip.to_work)
    for g, d in zip(glyphs, digits):
        x, _, _ = inverse @ np.array([(g.left + g.right) / 2, (g.top + g.bottom) / 2, 1])
        labels[int(x) // FRAME] = d
    out = np.full((n, 11), (1 - p) / 10)
    out[np.arange(n), labels] = p
    return np.log(out)


def test_each_digit_read_is_boxed_in_the_uploads_own_pixels():
    data = draw("17", height=120, pen=10, margin=40)
    ln = numbers.read_line(data, 40_000_000)
    answer = numbers.assemble(ln, outputs_reading(ln, [1, 7]), [0.0, 0.0], numbers.Calibration())
    assert answer["number"] == "17"
    (x1, y1, w1, h1), (x2, y2, w2, h2) = [d["box"] for d in answer["digits"]]
    assert ln.scale == 1.0
    assert 35 <= x1 <= 60 and 28 <= y1 <= 45 and 110 <= h1 <= 140
    assert x2 >= x1 + w1 - 2 and 28 <= y2 <= 45 and x2 + w2 <= ln.width


def test_a_large_upload_is_read_at_a_working_scale_and_boxed_in_its_own_pixels():
    data = draw("17", height=900, pen=60, margin=300)
    ln = numbers.read_line(data, 40_000_000)
    assert max(ln.ink.shape) <= numbers.LINE_SIDE and ln.scale < 1
    x, y, w, h = numbers.assemble(ln, outputs_reading(ln, [1, 7]), [0.0, 0.0], numbers.Calibration())["digits"][0]["box"]
    stroke_left = 300 + 0.3 * 900 * 0.6 - 30  # the 1's first point, less half the pen
    assert abs(x - stroke_left) <= 10 and 255 <= y <= 280 and 940 <= h <= 990


def test_the_answer_carries_the_calibrated_string_probability_and_each_digits_crop():
    ln = line("2025", height=100, pen=10)
    log_probs = outputs_reading(ln, [2, 0, 2, 5], p=0.9)
    calibration = numbers.Calibration(0.7, 0.6)
    answer = numbers.assemble(ln, log_probs, [0.0] * 4, calibration)
    expected = np.mean([lines.string_log_prob(outputs, [2, 0, 2, 5]) for outputs in log_probs])
    assert answer["confidence"] == pytest.approx(calibration.confidence(expected))
    assert len(answer["inputs"]) == 4 and all(x.shape == (28, 28) and x.max() > 0.5 for x in answer["inputs"])
    assert all(0.5 < d["confidence"] <= 1 for d in answer["digits"])


def doubting(ln: numbers.Line, digits: list[int], k: int, other: int, share: float) -> list[np.ndarray]:
    """`outputs_reading`, but at glyph k's frame the line model gives `digits[k]` only `share` and
    `other` the rest but 0.05."""
    out = []
    for strip in ln.views:
        log_probs = view_reading(strip, ln.glyphs, digits, 0.95)
        g = ln.glyphs[k]
        x, _, _ = np.linalg.inv(strip.to_work) @ np.array([(g.left + g.right) / 2, (g.top + g.bottom) / 2, 1])
        row = np.full(11, 0.05 / 9)
        row[digits[k]], row[other] = share, 0.95 - share
        log_probs[int(x) // FRAME] = np.log(row)
        out.append(log_probs)
    return out


def sure(digit: int, p: float) -> np.ndarray:
    """The digit model's probabilities for one glyph: `digit` at p, the rest shared."""
    q = np.full(10, (1 - p) / 9)
    q[digit] = p
    return q


def test_a_digit_the_line_model_doubts_is_read_as_the_digit_model_reads_its_own_glyph():
    ln = line("17", height=100, pen=10)
    log_probs, calibration = doubting(ln, [1, 7], 1, other=1, share=0.55), numbers.Calibration(0.7, 0.6)
    assert numbers.assemble(ln, log_probs, [0.0, 0.0], calibration)["number"] == "17"
    answer = numbers.assemble(ln, log_probs, [0.0, 0.0], calibration, glyph_digits=[sure(1, 0.99), sure(1, 0.97)])
    assert answer["number"] == "11" and answer["text"] == "11"
    assert answer["digits"][1]["confidence"] == pytest.approx(0.97), "the digit model's probability of the digit it chose"
    ctc = np.mean([lines.string_log_prob(outputs, [1, 1]) for outputs in log_probs])
    assert answer["confidence"] == pytest.approx(calibration.confidence(ctc)), "the line model's probability of the string"


def test_a_sure_reading_of_the_line_model_stands_against_a_doubtful_glyph():
    ln = line("17", height=100, pen=10)
    glyphs = [sure(1, 0.99), np.array([0, 0.6, 0, 0, 0, 0, 0, 0.4, 0, 0])]
    log_probs = outputs_reading(ln, [1, 7])
    alone = numbers.assemble(ln, log_probs, [0.0, 0.0], numbers.Calibration())
    answer = numbers.assemble(ln, log_probs, [0.0, 0.0], numbers.Calibration(), glyph_digits=glyphs)
    assert answer["number"] == "17" and answer["digits"] == alone["digits"]


def test_glyphs_that_are_not_the_digits_read_one_for_one_change_nothing():
    ln = line("17", height=100, pen=10)
    one = [view_reading(strip, ln.glyphs[:1], [1], 0.6) for strip in ln.views]  # a digit read for two glyphs
    answer = numbers.assemble(ln, one, [0.0, 0.0], numbers.Calibration(), glyph_digits=[sure(7, 0.999)] * 2)
    assert answer["number"] == "1"


def test_a_line_the_gate_holds_for_letters_only_is_not_a_digit_whatever_the_line_model_reads():
    ln = line("2025", height=100, pen=10)
    with pytest.raises(numbers.InputError) as err:
        numbers.assemble(ln, outputs_reading(ln, [2, 0, 2, 5]), [0.999] * 4, numbers.Calibration())
    assert err.value.status == 422 and err.value.reason == "not_a_digit"


@pytest.mark.parametrize("p_not", [[0.995, 0.0, 0.1, 0.0], [0.9, 0.98, 0.0, 0.3], [0.0] * 4])
def test_a_line_with_at_most_one_odd_glyph_is_read(p_not):
    # An odd glyph among digits (a touching pair read as one glyph, an odd MNIST digit) keeps the line.
    ln = line("2025", height=100, pen=10)
    assert numbers.assemble(ln, outputs_reading(ln, [2, 0, 2, 5]), p_not, numbers.Calibration())["number"] == "2025"


def test_a_glyph_holding_a_filled_area_counts_as_surely_not_a_digit():
    # A face's hair beside eyes the gate doubts: one glyph surely not a digit keeps a line, two refuse it.
    ln = line("2025", height=100, pen=10)
    outputs = outputs_reading(ln, [2, 0, 2, 5])
    p_not = [0.995, 0.0, 0.1, 0.0]
    assert numbers.assemble(ln, outputs, p_not, numbers.Calibration(), [True, False, False, False])["number"] == "2025"
    with pytest.raises(numbers.InputError) as err:
        numbers.assemble(ln, outputs, p_not, numbers.Calibration(), [False, False, True, False])
    assert err.value.reason == "not_a_digit"


@pytest.mark.parametrize("p_not", [[0.995, 0.0, 0.995, 0.0], [0.0, 0.0, 0.9995, 0.0], [0.999, 0.999, 0.1, 0.999]])
def test_a_line_with_two_glyphs_surely_not_digits_or_one_certainly_not_is_not_a_digit(p_not):
    # Words whose letters partly look like digits were read ("hello" as 170110): two letters surely not
    # digits, or one certainly not (a W among digits), refuse the line, naming writing that is not digits.
    ln = line("2025", height=100, pen=10)
    with pytest.raises(numbers.InputError) as err:
        numbers.assemble(ln, outputs_reading(ln, [2, 0, 2, 5]), p_not, numbers.Calibration())
    assert err.value.status == 422 and err.value.reason == "not_a_digit" and "not digits" in err.value.message


def test_a_line_the_model_reads_as_blank_is_not_a_digit():
    ln = line("17", height=100, pen=10)
    blank = [np.log(np.full((strip.image.shape[1] // FRAME, 11), 0.001)) for strip in ln.views]
    for outputs in blank:
        outputs[:, BLANK] = np.log(0.99)
    with pytest.raises(numbers.InputError) as err:
        numbers.assemble(ln, blank, [0.0, 0.0], numbers.Calibration())
    assert err.value.reason == "not_a_digit"


def test_no_ink_is_a_422_with_its_reason():
    blank = draw("1", pen=1, height=10, size=(200, 100), origin=(-500, -500))
    with pytest.raises(numbers.InputError) as err:
        numbers.read_line(blank, 40_000_000)
    assert err.value.status == 422 and err.value.reason == "no_ink"


def test_the_string_confidence_is_platt_scaling_of_the_log_of_minus_the_log_probability():
    calibration = numbers.Calibration(0.7, 0.6)
    log_p = math.log(0.72)
    assert calibration.confidence(log_p) == pytest.approx(1 / (1 + math.exp(0.6) * (-log_p) ** 0.7))
    assert calibration.confidence(0.0) == 1.0 and calibration.confidence(-1e6) < 1e-3


def test_the_string_confidence_falls_as_the_string_grows_less_likely_and_inverts_exactly():
    calibration = numbers.Calibration(0.7, 0.6)
    log_ps = [-1e-9, -1e-4, -0.01, -0.3, -2.0, -40.0]
    confidences = [calibration.confidence(v) for v in log_ps]
    assert confidences == sorted(confidences, reverse=True)
    assert [calibration.log_p(c) for c in confidences] == pytest.approx(log_ps, rel=1e-6)


def test_uncalibrated_confidence_is_about_the_probability_near_one():
    assert numbers.Calibration().confidence(math.log(0.99)) == pytest.approx(0.99, abs=1e-3)


@pytest.mark.parametrize("a,b", [(0.0, 0.0), (-1.0, 0.0), (1.0, math.inf), (math.nan, 0.0)])
def test_a_calibration_that_could_not_be_monotone_is_refused(a, b):
    with pytest.raises(ValueError):
        numbers.Calibration(a, b)


def test_the_number_card_calibrates_only_the_checkpoints_it_names(tmp_path):
    import json

    served = {"line": "1" * 64, "gate": "2" * 64, "digit": "3" * 64, "sum": "4" * 64}
    card = {"calibration": {"a": 0.7, "b": 0.6}, "checkpoints": {"line": "1" * 64, "gate": "2" * 64, "digit": "3" * 64}}
    (tmp_path / numbers.CARD).write_text(json.dumps(card))
    assert numbers.read_number_card(tmp_path, served) == (card, numbers.Calibration(0.7, 0.6))
    assert numbers.read_number_card(tmp_path, {**served, "sum": "0" * 64})[1] == numbers.Calibration(0.7, 0.6)
    for name in ("line", "gate", "digit"):  # each reads the line: the digit model its separate glyphs
        stale, calibration = numbers.read_number_card(tmp_path, {**served, name: "0" * 64})
        assert calibration == numbers.Calibration() and "other checkpoints" in stale["error"]
    assert "the served line, gate and digit" in stale["error"]
    (tmp_path / numbers.CARD).unlink()
    missing, calibration = numbers.read_number_card(tmp_path, served)
    assert calibration == numbers.Calibration() and "missing" in missing["error"]


@pytest.mark.parametrize("texts", [["12", "345"], ["7", "2025"], ["31", "41", "57"]])
def test_digits_written_in_several_lines_are_refused_naming_the_lines(texts):
    from support.drawing import draw_lines

    with pytest.raises(numbers.InputError) as refused:
        numbers.read_line(draw_lines(texts), 40_000_000)
    assert refused.value.status == 422 and refused.value.reason == "several_lines"
    assert f"{len(texts)} lines" in refused.value.message


def test_rendered_lines_of_mnist_digits_are_never_counted_as_several(mnist_fixture):
    from training.strings import make_strings

    images, labels = mnist_fixture
    samples = make_strings(images, labels, list(range(1, 13)), 120, seed=3)  # jitter, sizes, touching, photos
    counts = [numbers.count_lines(numbers.line_ink(s.data, 40_000_000)[1]) for s in samples]
    assert counts == [1] * len(samples)


def block(top: int, left: int, height: int, width: int) -> Glyph:
    """A piece of ink that fills its box."""
    return Glyph(top, left, top + height, left + width, np.ones((height, width), dtype=bool))


DIGITS = [block(0, 0, 40, 8), block(0, 40, 40, 8)]  # two upright strokes 40 px tall, drawn 8 px wide


def marks_of(extra: list[Glyph]) -> list[str]:
    kept, marks = numbers.line_marks(sorted(DIGITS + extra, key=lambda g: g.left))
    assert len(kept) + len(marks) == len(DIGITS) + len(extra)
    return [m.mark for m in marks]


def test_a_comma_a_point_and_a_dash_beside_digits_are_marks():
    assert marks_of([block(30, 20, 16, 8)]) == [","]  # on the line, its tail below it
    assert marks_of([block(31, 20, 8, 8)]) == ["."]
    assert marks_of([block(17, 55, 6, 20)]) == ["-"]  # across the middle, after the digits
    assert marks_of([block(17, -30, 6, 20)]) == ["-"]  # a minus sign before them


def colon_of(extra: list[Glyph]) -> tuple[int, list[str]]:
    kept, marks = numbers.line_marks(sorted(DIGITS + extra, key=lambda g: g.left))
    return len(kept), [m.mark for m in marks]


def test_two_dots_one_over_the_other_beside_digits_are_one_colon():
    assert colon_of([block(12, 20, 6, 6), block(30, 20, 6, 6)]) == (2, [":"])  # a time, 1:1
    assert colon_of([block(10, 21, 7, 6), block(31, 19, 7, 8)]) == (2, [":"]), "dots a little apart and unequal"


def test_dots_that_are_no_colon_are_not_one():
    assert colon_of([block(27, 20, 6, 6), block(30, 20, 6, 6)])[1] != [":"], "touching: one blob"
    assert colon_of([block(14, 20, 6, 6), block(22, 20, 6, 6)])[1] == [], "both over the line's lowest two-fifths"
    assert colon_of([block(-12, 20, 6, 6), block(30, 20, 6, 6)])[1] == [], "the upper dot over the digits' tops"
    assert colon_of([block(12, 20, 2, 2), block(30, 20, 2, 2)])[1] == [], "specks thinner than the pen"
    assert colon_of([block(12, -20, 6, 6), block(30, -20, 6, 6)])[1] == [], "before every digit"


def test_pieces_of_digits_and_specks_are_not_marks():
    assert marks_of([block(31, 20, 3, 3)]) == [], "a speck thinner than the pen"
    assert marks_of([block(31, 4, 8, 8)]) == [], "a piece under a digit (a detached foot)"
    assert marks_of([block(0, 2, 6, 20)]) == [], "a flat piece over a digit (a 5's detached bar)"
    assert marks_of([block(2, 20, 6, 14)]) == [], "a flat piece at the top: not a dash"
    assert marks_of([block(17, 48, 6, 20)]) == [], "a flat piece that starts where a digit ends (a small 5's bar)"
    assert marks_of([block(31, -20, 8, 8)]) == [], "a point before every digit"
    assert marks_of([block(20, 20, 20, 8)]) == [], "half the digits' height, standing up from the line: a digit"


def test_a_comma_is_taken_out_before_the_line_is_read_and_a_point_is_left():
    comma, point = line("1,2", height=100, pen=10), line("1.2", height=100, pen=10)
    assert [m.mark for m in comma.marks] == [","] and [m.mark for m in point.marks] == ["."]
    g = comma.marks[0].glyph
    assert comma.ink[g.top:g.bottom, g.left:g.right].max() == 0, "the comma's ink is gone"
    g = point.marks[0].glyph
    assert point.ink[g.top:g.bottom, g.left:g.right].max() > 0.9, "the point's ink stays: a speck taken for one changes no digit"
    assert len(comma.glyphs) == len(point.glyphs) == 2


@pytest.mark.parametrize("text,marks", [("1+2", "+"), ("+17", "+"), ("(12)", "()"), ("(1)2", "()"), ("2+2=4", "+="),
                                        ("7=7", "=")])
@pytest.mark.parametrize("pen", [6, 12, 18])
def test_a_plus_an_equals_sign_and_brackets_are_marks_taken_out_before_the_line_is_read(text, marks, pen):
    ln = line(text, height=100, pen=pen)
    assert "".join(m.mark for m in ln.marks) == marks
    assert len(ln.glyphs) == sum(c.isdigit() for c in text)
    for m in ln.marks:
        g = m.glyph
        assert ln.ink[g.top:g.bottom, g.left:g.right].max() == 0, f"the {m.mark}'s ink is gone (read as a digit)"


def digit_glyph(image: np.ndarray, side: int) -> Glyph:
    from PIL import Image

    big = np.asarray(Image.fromarray(image).resize((side, side), Image.BILINEAR), np.float32) / 255 > 0.35
    rows, cols = np.flatnonzero(big.any(1)), np.flatnonzero(big.any(0))
    mask = big[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    return Glyph(100, 100, 100 + mask.shape[0], 100 + mask.shape[1], mask)


def test_mnist_digits_written_smaller_than_their_neighbours_are_seldom_a_plus(mnist_fixture):
    images, _ = mnist_fixture
    rng = np.random.default_rng(0)
    taken = 0
    for image in images:
        g = digit_glyph(image, int(rng.integers(16, 90)))
        height = g.height / rng.uniform(0.4, 1.0)  # the band the other digits stand in: the digit 0.4-1 of it
        taken += numbers.plus_cross(g, (g.top + g.bottom) / 2 - height * rng.uniform(0.3, 0.7), height)
    assert taken <= 2, taken  # 8 of 10,000 MNIST test digits drawn this way (0 of these 300)


def bow(left: bool, height: int = 44, bulge: int = 7, pen: int = 5) -> np.ndarray:
    """A bracket's stroke, every fifth row notched in two (a pen's skip, a polyline's joints)."""
    mask = np.zeros((height, bulge + pen + 2), dtype=bool)
    for r in range(height):
        aside = round(bulge * 4 * (r / (height - 1)) * (1 - r / (height - 1)))
        mask[r, (bulge - aside if left else aside):][:pen] = True
    for r in range(0, height, 5):
        mask[r, np.flatnonzero(mask[r])[pen // 2]] = False
    return mask


def test_a_pair_of_brackets_around_digits_are_marks_even_when_their_strokes_are_notched():
    opening, closing = bow(True), bow(False)
    kept, marks = numbers.line_marks([Glyph(-2, -30, 42, -30 + opening.shape[1], opening), *DIGITS,
                                      Glyph(-2, 60, 42, 60 + closing.shape[1], closing)])
    assert [m.mark for m in marks] == ["(", ")"] and [g.left for g in kept] == [0, 40]


def test_brackets_are_marks_only_in_pairs_opened_before_closed():
    marks = numbers.paired_brackets({0: "(", 2: ")", 4: "("})
    assert marks == {0: "(", 2: ")"}, "the third bracket closes nothing"
    assert numbers.paired_brackets({1: ")", 3: "("}) == {}, "closed before it opens"
    assert numbers.paired_brackets({0: "(", 1: "+", 3: ")", 5: ")"}) == {0: "(", 1: "+", 3: ")"}


def test_rendered_lines_of_mnist_digits_seldom_carry_a_mark(mnist_fixture):
    from training.strings import make_strings

    images, labels = mnist_fixture
    samples = make_strings(images, labels, list(range(2, 8)), 150, seed=3)  # jitter, sizes, touching, photos
    with_marks = sum(bool(numbers.read_line(s.data, 40_000_000).marks) for s in samples)
    assert with_marks <= 2, with_marks


def notebook_number(images, labels, k: tuple[int, ...], paper: str, seed: int) -> tuple[bytes, str, tuple]:
    """A 12 MP photo of MNIST digits `k` written in a row on a notebook page, its text, and where the
    writing stands: the dark ink's box (left, top, right, bottom) in the same photo on plain paper."""
    from support.images import notebook_photo

    row = np.concatenate([images[i] for i in k], 1)
    photo = notebook_photo(row, paper, tilt=2.0, seed=seed, size=(4032, 3024))
    plain = notebook_photo(row, "plain", tilt=2.0, seed=seed, size=(4032, 3024))  # the same draw, no lines
    import io

    from PIL import Image

    dark = np.asarray(Image.open(io.BytesIO(plain)).convert("L")) < 110
    rows, cols = np.flatnonzero(dark.any(1)), np.flatnonzero(dark.any(0))
    return photo, "".join(str(labels[i]) for i in k), (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)


@pytest.mark.parametrize("paper", ["ruled", "squared"])
def test_a_number_on_a_notebook_page_photographed_in_12_mp_is_read_from_a_window_around_it(mnist_fixture, paper):
    # At LINE_SIDE the page's lines are too thin and faint to find (ruled: they span the page; squared:
    # what is left of the grid stands around the writing); the line is read from a finer decode.
    images, labels = mnist_fixture
    photo, text, (left, top, right, bottom) = notebook_number(images, labels, (0, 1, 2, 3), paper, seed=3)
    ln = numbers.read_line(photo, 40_000_000)
    assert ln.origin != (0.0, 0.0), "read from a window"
    assert len(ln.glyphs) == len(text) and numbers.count_lines(numbers.components(ln.ink)) == 1
    x0, y0 = ln.origin
    x1, y1 = x0 + ln.ink.shape[1] / ln.scale, y0 + ln.ink.shape[0] / ln.scale
    assert x0 <= left and y0 <= top and right <= x1 and bottom <= y1, "the window holds the writing"
    assert x1 - x0 < 3 * (right - left) and y1 - y0 < 5 * (bottom - top), "and little else"


def test_the_window_is_not_read_where_the_writing_runs_on_past_its_side():
    ink = np.zeros((60, 200), np.float32)
    ink[10:50, 20:26] = 1  # a 1 inside
    assert not numbers.runs_on(ink, numbers.components(ink))
    ink[10:50, 190:200] = 1  # writing cut by the right side
    assert numbers.runs_on(ink, numbers.components(ink))


def test_a_second_line_of_strong_writing_leaves_no_one_line_to_window():
    ink = np.zeros((300, 400), np.float32)
    ink[40:80, 50:56] = ink[40:80, 90:96] = 1  # one line: two 1s
    box = numbers.writing_box(ink, numbers.components(ink))
    assert box is not None and np.allclose(box, (40, 50, 80, 96), atol=2), box  # the two 1s, to a pixel of the 2x2 means
    ink[200:240, 50:56] = 1  # a second line of writing below
    assert numbers.writing_box(ink, numbers.components(ink)) is None



def test_faint_ink_away_from_the_digits_leaves_the_lines_strip_and_faint_ink_among_them_stays():
    # A light desk's faint grain beside a photographed page widened the strip the line model reads
    # (it is cropped to ink over lines.INK), and the digits shrank in it.
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(draw("2025", height=100, pen=10, background="white", size=(700, 600),
                                     origin=(100, 150)))).convert("L")
    x = np.asarray(img, np.float32)
    x[480:560, 20:300] = 215  # faint grain far below the line
    x[200:206, 460:490] = 215  # faint ink beside its last digit, within the line's reach
    buf = io.BytesIO()
    Image.fromarray(x.astype(np.uint8)).save(buf, format="PNG")
    page, pieces = numbers.line_ink(buf.getvalue(), 40_000_000)
    f = page.ink.shape[1] / 700  # working pixels per upload pixel
    assert len(pieces) == 4
    assert page.ink[int(480 * f):int(560 * f), int(20 * f):int(300 * f)].max() == 0
    assert page.ink[int(200 * f):int(206 * f), int(460 * f):int(490 * f)].max() > 0


def test_a_barcodes_bars_are_bars_and_a_long_line_of_digits_or_of_ones_is_not(mnist_fixture):
    from support.images import barcode_photo, png
    from training.strings import compose

    def glyphs_are_bars(data: bytes) -> bool:
        ln = numbers.read_line(data, 10**8)
        return numbers.bars(ln, numbers.glyph_inputs(ln))

    assert all(glyphs_are_bars(barcode_photo(seed)) for seed in range(4))
    images, _ = mnist_fixture
    rng = np.random.default_rng(0)
    ink = compose([images[i] for i in rng.choice(len(images), 20, replace=False)], rng, touching=False)
    assert not glyphs_are_bars(png((np.clip(ink, 0, 1) * 255).astype(np.uint8)))
    assert not glyphs_are_bars(draw("1" * 20, pen=8)), "twenty 1s drawn with one pen are one width"


def test_one_glyph_alone_is_refused_at_a_lower_p_than_a_glyph_among_others():
    assert numbers.refused_line([numbers.ALONE_NOT]) is not None
    assert numbers.refused_line([numbers.ALONE_NOT - 0.05]) is None
    assert numbers.refused_line([numbers.ALONE_NOT, 0.01]) is None, "beside a digit, one odd glyph is a touching pair"


def test_a_line_none_of_whose_glyphs_is_a_digit_is_refused_at_the_same_p_as_one_glyph_alone():
    assert numbers.refused_line([numbers.ALONE_NOT, 0.9]).reason == "not_a_digit"
    assert numbers.refused_line([numbers.ALONE_NOT - 0.05, 0.9]) is None
    assert numbers.refused_line([0.9, 0.9, 0.3]) is None, "one glyph that may be a digit speaks for the line"


def test_no_piece_is_no_proof_that_nothing_is_a_digit():
    assert not numbers.no_digit_in([])
    assert numbers.no_digit_in([numbers.ALONE_NOT, 0.99]) and not numbers.no_digit_in([numbers.ALONE_NOT, 0.1])
