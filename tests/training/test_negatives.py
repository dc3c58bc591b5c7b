"""The gate's training uploads and the held-out evaluation uploads: every kind is made, and each
goes through the service's preprocessing."""

import io

import numpy as np
import pytest
from PIL import Image

from app.ml.constants import GATE_CLASSES
from app.ml.preprocess import prepare
from training import heldout, negatives


def test_the_training_set_holds_every_class_as_prepared_28x28_images(mnist_fixture):
    images, labels = mnist_fixture
    x, y = negatives.make_set(images, labels, n_negative=60, n_several=12, n_pen=40, seed=3)
    assert x.dtype == np.uint8 and x.shape[1:] == (28, 28) and len(x) == len(y)
    assert set(np.unique(y)) >= {negatives.NOT_A_DIGIT, negatives.SEVERAL_DIGITS}
    assert (y < 10).sum() >= 30, "pen-drawn and printed digits are positives"
    assert y.max() < len(GATE_CLASSES)
    assert all(img.max() > 100 for img in x), "each has ink"


def test_the_training_set_is_reproducible(mnist_fixture):
    images, labels = mnist_fixture
    a = negatives.make_set(images, labels, 10, 3, 5, seed=9)
    b = negatives.make_set(images, labels, 10, 3, 5, seed=9)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


@pytest.mark.parametrize("kind", heldout.KINDS)
def test_every_held_out_kind_is_a_decodable_upload(mnist_fixture, kind):
    images, labels = mnist_fixture
    rng = np.random.default_rng(1)
    data = heldout.nondigit(kind, rng, images, labels)
    assert Image.open(io.BytesIO(data)).size[0] >= 100


def test_held_out_fonts_are_not_training_fonts():
    assert not set(heldout.HELDOUT_FONTS) & set(negatives.TRAIN_FONTS)


def test_pen_drawings_span_the_sizes_and_pens_asked_for(mnist_fixture):
    images, labels = mnist_fixture
    pens = heldout.pen_drawings(images, labels, n=60)
    assert min(p["size"] for p in pens) < 0.2 and max(p["size"] for p in pens) > 0.7
    assert min(p["pen"] for p in pens) < 0.04 and max(p["pen"] for p in pens) > 0.13
    assert {p["canvas"] for p in pens} == {"transparent", "black", "white"}
    for p in pens[:10]:
        assert prepare(p["data"]).image.shape == (28, 28)
