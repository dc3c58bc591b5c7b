"""training.line_count: its multi-line uploads hold the lines they claim, and the reader counts them."""

import numpy as np
import pytest

from training.line_count import lines_in, several_lines, stacked


def test_stacked_lines_leave_the_asked_gap_between_them():
    rows = [np.ones((10, 30), np.float32), np.ones((10, 20), np.float32)]
    out = stacked(rows, 0.5, np.random.default_rng(0))
    inked = np.flatnonzero(out.any(1))
    assert out.shape == (25, 30) and list(inked) == list(range(10)) + list(range(15, 25))


@pytest.mark.parametrize("generator", ["notebook photo", "test strings' renderer", "training lines' renderer"])
def test_the_reader_refuses_most_multi_line_uploads_of_each_generator(mnist_fixture, generator):
    images, _ = mnist_fixture
    counts = [lines_in(u) for u in several_lines(images, generator, 8, seed=1)]
    assert sum(c != 1 for c in counts) >= 6, counts
