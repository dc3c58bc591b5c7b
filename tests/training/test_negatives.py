"""The gate's training uploads and the held-out evaluation uploads: every kind is made, and each
goes through the service's preprocessing."""

import io
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from app.ml.checkpoint import load_model
from app.ml.constants import GATE_CLASSES
from app.ml.ink import upright_stroke
from app.ml.preprocess import prepare
from tests.utils import MODEL_DIR, model_inputs
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


@torch.no_grad()
def test_digits_drawn_from_strokes_are_read_as_their_digit_by_the_shipped_digit_model():
    """The stroke templates are labels the gate learns from: a model that never saw them must agree."""
    rng = np.random.default_rng(4)
    digits = [d for d in range(10) for _ in range(8)]
    images = [negatives.prepared(negatives.render(negatives.stroke_digit(rng, d), rng)) for d in digits]
    kept = [(x, d) for x, d in zip(images, digits) if x is not None]
    model, _ = load_model(MODEL_DIR / "digit.pt")
    pred = model(model_inputs(np.stack([x for x, _ in kept]))).argmax(1).numpy()
    assert len(kept) >= 70
    assert (pred == np.array([d for _, d in kept])).mean() >= 0.9


@pytest.mark.parametrize("maker", [negatives.turtle, negatives.coil, negatives.tangle, negatives.scratch, negatives.sign])
def test_doodles_are_uploads_with_ink_and_never_a_lone_upright_stroke(maker):
    rng = np.random.default_rng(2)
    images = [negatives.prepared(negatives.render(maker(rng), rng)) for _ in range(10)]
    inked = [x for x in images if x is not None]
    assert len(inked) >= 8
    assert all(x.shape == (28, 28) and not upright_stroke(x) for x in inked)


def test_chaikin_rounds_corners_but_keeps_the_ends():
    pts = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    smooth = negatives.chaikin(pts, 2)
    assert np.array_equal(smooth[0], pts[0]) and np.array_equal(smooth[-1], pts[-1])
    assert len(smooth) > len(pts)
    assert not any(np.allclose(q, pts[1]) for q in smooth), "the corner is cut"


def test_held_out_fonts_are_not_training_fonts():
    assert not set(heldout.HELDOUT_FONTS) & set(negatives.TRAIN_FONTS)


@pytest.mark.parametrize("maker, sources", [("pen_drawings", {"mnist", "template"}),
                                            ("pressure_drawings", {"mnist-pressure"})])
def test_both_pen_sets_span_the_sizes_and_pens_asked_for(mnist_fixture, maker, sources):
    images, labels = mnist_fixture
    pens = getattr(heldout, maker)(images, labels, n=60)
    assert min(p["size"] for p in pens) < 0.2 and max(p["size"] for p in pens) > 0.7
    assert min(p["pen"] for p in pens) < 0.04 and max(p["pen"] for p in pens) > 0.13
    assert {p["canvas"] for p in pens} == {"transparent", "black", "white"}
    assert {p["source"] for p in pens} == sources
    for p in pens[:10]:
        image = prepare(p["data"]).image
        assert image.shape == (28, 28) and image.max() > 0.5


def test_the_rendered_sets_are_cached_per_split_so_another_split_never_reuses_them(mnist_fixture, tmp_path, monkeypatch):
    images, labels = mnist_fixture
    mnist = SimpleNamespace(train_x=images[:200], train_y=labels[:200], test_x=images[200:], test_y=labels[200:])
    monkeypatch.setattr(negatives, "SET_SIZES", {"train": (8, 8, 8), "val": (8, 8, 8), "test": (8, 8, 8)})
    first = negatives.gate_sets(mnist, np.arange(0, 150), np.arange(150, 200), tmp_path)
    again = negatives.gate_sets(mnist, np.arange(0, 150), np.arange(150, 200), tmp_path)
    other = negatives.gate_sets(mnist, np.arange(50, 200), np.arange(0, 50), tmp_path)
    assert len(list(tmp_path.glob("gate-*.npz"))) == 2
    assert np.array_equal(first["train"][0], again["train"][0])
    assert not np.array_equal(first["val"][0], other["val"][0])


@pytest.mark.parametrize("name", list(negatives.SIGNS))
def test_each_sign_is_drawn_with_ink_about_as_wide_as_its_aspect_asks(name):
    lines, (narrowest, widest) = negatives.SIGNS[name]
    rng = np.random.default_rng(5)
    for _ in range(5):
        img = np.asarray(negatives.drawn(rng, lines(rng), aspect=narrowest, jitter=0.005)) > 0
        ys, xs = np.nonzero(img)
        assert len(xs) > 50
        assert 0.3 * narrowest < np.ptp(xs) / np.ptp(ys) < 2.5 * widest


def test_the_second_round_holds_signs_and_as_many_pen_drawn_digits(mnist_fixture):
    images, labels = mnist_fixture
    x, y = negatives.make_more(images, labels, n_negative=40, n_pen=40, seed=2)
    assert x.dtype == np.uint8 and x.shape[1:] == (28, 28) and len(x) == len(y)
    assert 30 <= (y == negatives.NOT_A_DIGIT).sum() <= 40, "signs and scratches, a few dropped as lone upright strokes"
    assert 30 <= (y < 10).sum() <= 40 and negatives.SEVERAL_DIGITS not in y
    again = negatives.make_more(images, labels, n_negative=40, n_pen=40, seed=2)
    assert np.array_equal(x, again[0]) and np.array_equal(y, again[1])


def test_the_second_round_is_cached_apart_and_follows_the_first(mnist_fixture, tmp_path, monkeypatch):
    images, labels = mnist_fixture
    mnist = SimpleNamespace(train_x=images[:200], train_y=labels[:200], test_x=images[200:], test_y=labels[200:])
    monkeypatch.setattr(negatives, "SET_SIZES", {"train": (8, 8, 8), "val": (8, 8, 8), "test": (8, 8, 8)})
    monkeypatch.setattr(negatives, "MORE_SIZES", {"train": (16, 8), "val": (8, 8), "test": (8, 8)})
    first = negatives.gate_sets(mnist, np.arange(0, 150), np.arange(150, 200), tmp_path)
    both = negatives.gate_sets(mnist, np.arange(0, 150), np.arange(150, 200), tmp_path, more=True)
    assert len(list(tmp_path.glob("gate-v*.npz"))) == 1 and len(list(tmp_path.glob("gate-more-*.npz"))) == 1
    for split, (x, y) in first.items():
        assert np.array_equal(both[split][0][:len(x)], x) and np.array_equal(both[split][1][:len(y)], y)
        assert len(both[split][1]) > len(y)
    assert (both["train"][1][len(first["train"][1]):] == negatives.NOT_A_DIGIT).sum() >= 10


def test_every_held_out_sign_is_a_decodable_upload_with_ink():
    for name, uploads in heldout.sign_sets(per_kind=2, seed=3).items():
        for data in uploads:
            assert prepare(data).image.max() > 0.5, name
