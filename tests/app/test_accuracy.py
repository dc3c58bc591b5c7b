"""Uploads reach the models as in training: MNIST-format inputs unharmed, realistic uploads right.

Full-size figures (all 10k test digits, 1000 per realistic set) come from `python -m tests.realistic`
and `python -m bench.api_accuracy`; here the same checks run on the committed 300-digit fixture.
"""

import numpy as np
import pytest
import torch

from app.ml.constants import normalize
from app.ml.decode import decode_threshold, overlap_probs
from tests.images import png, png16
from tests.realistic import handwriting_sets, printed_set
from training.data import pair_images


def served(client, task):
    return client.app.state.store.models[task]


@torch.no_grad()
def direct(model, images01, numbers=None):
    x = normalize(torch.from_numpy(images01.astype(np.float32)).unsqueeze(1))
    return model.module(x, torch.from_numpy(numbers)) if numbers is not None else model.module(x)


def test_mnist_pngs_through_the_api_get_exactly_the_models_own_answers(client, mnist_fixture):
    images, labels = mnist_fixture
    expected = direct(served(client, "digit"), images / 255.0).argmax(1).numpy()
    got = np.array([client.post("/predict", files={"file": ("d.png", png(img), "image/png")}).json()["digit"]
                    for img in images])
    assert (got == expected).all()
    assert abs((got == labels).mean() - (expected == labels).mean()) <= 0.001


def test_overlap_pairs_through_the_api_match_the_model_on_its_training_format(client, mnist_fixture):
    images, labels = mnist_fixture
    idx = np.random.default_rng(3).integers(0, len(images), size=(200, 2))
    pairs = pair_images(images, idx)
    model = served(client, "overlap")
    p, _ = overlap_probs(direct(model, pairs), model.card["head"], model.card["temperature"])
    expected = decode_threshold(p, model.threshold())
    got = [client.post("/predict/overlap", files={"file": ("p.png", png16(x), "image/png")}).json()["digits"]
           for x in pairs]
    assert got == expected
    truth = [sorted({int(labels[a]), int(labels[b])}) for a, b in idx]
    assert np.mean([g == t for g, t in zip(got, truth)]) >= 0.95


def test_sum_through_the_api_matches_the_model(client, mnist_fixture):
    images, labels = mnist_fixture
    numbers = np.random.default_rng(4).integers(0, 10, len(images))
    _, sum_logits = direct(served(client, "sum"), images / 255.0, numbers)
    got = [client.post("/predict/sum", files={"file": ("d.png", png(img), "image/png")},
                       data={"number": str(n)}).json()["sum"] for img, n in zip(images, numbers)]
    assert (np.array(got) == sum_logits.argmax(1).numpy()).all()
    assert (np.array(got) == labels + numbers).mean() >= 0.99


@pytest.fixture(scope="module")
def realistic(mnist_fixture):
    images, labels = mnist_fixture
    return handwriting_sets(images, labels, seed=0)


@pytest.mark.parametrize("name", ["photo", "canvas-transparent", "canvas-white-on-black", "scan"])
def test_realistic_handwriting_is_right_at_least_97_percent(client, realistic, name):
    from tests.realistic import accuracy

    assert accuracy(client, realistic[name]) >= 0.97


def test_printed_digits_in_several_fonts_are_right_at_least_90_percent(client):
    from tests.realistic import accuracy

    assert accuracy(client, printed_set(per_font_digit=2, seed=0)) >= 0.90
