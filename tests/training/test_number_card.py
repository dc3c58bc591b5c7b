"""The number reader's calibration and scoring helpers, and the rendered test strings."""

import io

import numpy as np
import pytest
from PIL import Image

from app.ml.numbers import Calibration
from training.metrics import edit_distance
from training.number_card import fit_calibration
from training.strings import fixed_strings, make_strings


@pytest.mark.parametrize("a,b,d", [("2025", "2025", 0), ("2025", "205", 1), ("2025", "20125", 1), ("", "12", 2),
                                   ("1234", "4321", 4)])
def test_edit_distance(a, b, d):
    assert edit_distance(a, b) == d


def test_fit_calibration_recovers_a_known_calibration():
    rng = np.random.default_rng(0)
    log_p = -rng.exponential(1.0, 20000)
    truth = Calibration(0.7, 0.6)
    correct = rng.random(20000) < np.array([truth.confidence(v) for v in log_p])
    fitted = fit_calibration(log_p, correct)
    assert fitted.a == pytest.approx(0.7, abs=0.05) and fitted.b == pytest.approx(0.6, abs=0.08)


def test_test_strings_are_fixed_and_span_lengths_styles_and_spacing(mnist_fixture):
    images, labels = mnist_fixture
    a, b = fixed_strings(images, labels, 40), fixed_strings(images, labels, 40)
    assert [s.data for s in a] == [s.data for s in b]
    assert {len(s.text) for s in a} <= set(range(2, 8)) and len({len(s.text) for s in a}) >= 4
    assert {s.style for s in a} == {"canvas", "photo"} and any(s.touching for s in a)
    for s in a[:6]:
        img = Image.open(io.BytesIO(s.data))
        assert img.width > img.height, "a line is wider than tall"


def test_long_lines_render(mnist_fixture):
    images, labels = mnist_fixture
    (s,) = make_strings(images, labels, [20], 1, seed=5)
    assert len(s.text) == 20 and Image.open(io.BytesIO(s.data)).width > 20 * 30
