"""bench.page_pen: the page's fat-pen drawings as drawn and as redrawn with upload_pen."""

import json

import numpy as np
from PIL import Image, ImageDraw

from app.web.pages import CANVAS_PEN, upload_pen
from bench import page_pen
from tests.utils import make_client


def test_upload_pen_is_a_share_of_the_drawing_at_least_2_and_never_wider_than_the_canvas_pen():
    assert upload_pen(0) == 2
    assert upload_pen(100) == 12
    assert upload_pen(1000) == CANVAS_PEN
    assert upload_pen(12.5 / 0.12) == 13  # halves round up, as JavaScript's Math.round does
    assert [upload_pen(e) for e in range(0, 300, 7)] == sorted(upload_pen(e) for e in range(0, 300, 7))


def test_the_extent_of_a_drawing_is_its_larger_side():
    mask = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(mask).line([(50, 100), (50, 160)], fill=255, width=1)
    assert page_pen.extent(mask) == 60
    ImageDraw.Draw(mask).line([(50, 100), (150, 100)], fill=255, width=1)
    assert page_pen.extent(mask) == 100


def test_a_short_run_writes_each_size_and_source_with_both_accuracies(tmp_path, mnist_fixture):
    images, labels = mnist_fixture
    mnist = type("Mnist", (), {"test_x": images, "test_y": labels})
    drawn = list(page_pen.drawings(mnist, 6, seed=1))
    for draw, _, size, source in drawn:
        thin, fat = np.asarray(draw(upload_pen(page_pen.extent(draw(1))))), np.asarray(draw(CANVAS_PEN))
        assert (thin > 0).sum() < (fat > 0).sum()  # the same strokes, the same place, a thinner pen
        assert 0.1 <= size < 0.4 and source in ("mnist", "template")
    rows = [{"size": s, "source": src, "pen": 5, "as_drawn": i % 2 == 0, "redrawn": True}
            for i, (_, _, s, src) in enumerate(drawn)]
    result = page_pen.table(rows)
    assert result["all"] == {"n": 6, "as_drawn": 0.5, "redrawn": 1.0}
    assert result["mnist"]["n"] == result["template"]["n"] == 3
    json.dumps(result)


def test_measure_posts_each_drawing_both_ways_to_the_service(mnist_fixture):
    images, labels = mnist_fixture
    mnist = type("Mnist", (), {"test_x": images, "test_y": labels})
    with make_client(log_level="warning") as client:
        rows = page_pen.measure(client, mnist, 4, seed=3)
    assert len(rows) == 4 and all(2 <= r["pen"] < CANVAS_PEN for r in rows)
    assert sum(r["redrawn"] for r in rows) >= 3  # small drawings, redrawn: read (99% of 600 in the README)


def test_number_lines_are_drawn_on_the_wide_canvas_with_one_stroke_placement_for_every_pen():
    for draw, number, height in page_pen.number_lines(5, seed=2):
        thin, fat = np.asarray(draw(upload_pen(height))), np.asarray(draw(CANVAS_PEN))
        assert thin.shape == (page_pen.SIDE, page_pen.WIDE) and 3 <= len(number) <= 5 and 30 <= height < 100
        assert (thin > 0).sum() < (fat > 0).sum()
        assert ((thin > 0) & ~(fat > 0)).sum() <= 0.01 * (thin > 0).sum()  # inside the fat strokes (edge pixels aside)
    rows = [{"height": h, "pen": 5, "as_drawn": h >= 60, "redrawn": True} for h in (35, 45, 70, 90)]
    result = page_pen.line_table(rows)
    assert result["30-60 px"] == {"n": 2, "as_drawn": 0.0, "redrawn": 1.0}
    assert result["all"]["as_drawn"] == 0.5


def test_measure_lines_reads_each_line_both_ways_through_the_number_route():
    with make_client(log_level="warning") as client:
        rows = page_pen.measure_lines(client, 3, seed=5)
    assert len(rows) == 3 and all(2 <= r["pen"] <= CANVAS_PEN for r in rows)
    assert sum(r["redrawn"] for r in rows) >= 2  # redrawn lines: 200 of 200 read in the README's run


def test_overlap_pairs_are_two_digits_centred_on_one_point_and_sent_both_ways(mnist_fixture):
    images, labels = mnist_fixture
    mnist = type("Mnist", (), {"test_x": images, "test_y": labels})
    for draw, digits, source in page_pen.overlap_pairs(mnist, 4, seed=2):
        first, second = draw(upload_pen(100))
        assert first.shape == second.shape == (page_pen.SIDE, page_pen.SIDE) and first.max() == second.max() == 1.0
        centres = [[np.flatnonzero(x.any(axis)).mean() for axis in (1, 0)] for x in (first, second)]
        assert np.abs(np.subtract(*centres)).max() <= 0.15 * page_pen.SIDE  # over each other, not side by side
        assert digits == sorted(set(digits)) and 1 <= len(digits) <= 2 and source in ("mnist", "template")
    with make_client(log_level="warning") as client:
        rows = page_pen.measure_pairs(client, mnist, 4, seed=3)
    assert len(rows) == 4 and sum(r["redrawn"] for r in rows) >= 3  # averaged: 96% of 300 (README)
    assert page_pen.pair_table(rows)["all"]["n"] == 4
