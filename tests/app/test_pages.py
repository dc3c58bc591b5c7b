"""The page's helpers that both its template and its script rely on."""

import pytest

from app.web.pages import FIGURE_ASPECT, FIGURE_ZOOM, figure_region


def test_the_figure_is_the_whole_image_without_boxes_or_when_the_writing_fills_much_of_it():
    assert figure_region([], 4032, 3024) == [0, 0, 4032, 3024]
    assert figure_region([[100, 100, 500, 600], [700, 120, 500, 580]], 1400, 900) == [0, 0, 1400, 900]


@pytest.mark.parametrize("boxes", [
    [[1800, 1400, 90, 120], [1900, 1405, 80, 118], [2000, 1398, 95, 125]],  # a number in the middle
    [[5, 3, 90, 120], [100, 8, 80, 118]],  # at the top-left corner
    [[3900, 2880, 90, 120], [3800, 2890, 80, 118]],  # at the bottom-right corner
    [[1000, 1500, 60, 80]] + [[1070 + 70 * i, 1500, 60, 80] for i in range(20)],  # a long line: a wide strip
])
def test_a_small_number_on_a_large_photo_is_shown_zoomed_holding_every_box_inside_the_image(boxes):
    x, y, w, h = figure_region(boxes, 4032, 3024)
    assert 0 <= x and 0 <= y and x + w <= 4032 and y + h <= 3024
    assert w < FIGURE_ZOOM * 4032 and h < FIGURE_ZOOM * 3024
    for bx, by, bw, bh in boxes:
        assert x <= bx and bx + bw <= x + w and y <= by and by + bh <= y + h
    assert w <= FIGURE_ASPECT * h + 2 or y == 0 or y + h == 3024, "at most 3:1 unless the image's edge cuts it"
