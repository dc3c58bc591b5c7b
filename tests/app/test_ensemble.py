"""The digit route answers with the digit model and the gate's digits combined (app.ml.ensemble),
when models/ensemble.json was fitted for the served checkpoints; otherwise with the digit model alone."""

import json

import numpy as np
import pytest

from app.ml.ensemble import CARD, combine
from support.images import png
from tests.utils import copy_models, make_client


def served(client, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    models = client.app.state.store.models
    return models["digit"].runtime(x)[0], models["gate"].runtime(x)[0]


def answers(client, images: np.ndarray) -> list[dict]:
    out = []
    for img in images:
        r = client.post("/predict", files={"file": ("d.png", png(img), "image/png")})
        out.append(r.json() if r.status_code == 200 else None)
    return out


def test_the_shipped_card_was_fitted_for_the_shipped_models_and_is_served(client):
    models = client.get("/models").json()
    card = models["digit_ensemble"]
    shas = {m["name"]: m["sha256"] for m in models["models"]}
    assert "error" not in card and card["checkpoints"] == {"digit": shas["digit"], "gate": shas["gate"]}
    assert card["validation"]["combined"]["accuracy"] >= card["validation"]["digit_model"]["accuracy"]
    assert client.app.state.units["digit+gate"].ensemble.temperature == card["temperature"]


def test_predict_answers_the_combined_probabilities(client, mnist_fixture):
    images, labels = mnist_fixture[0][:30], mnist_fixture[1][:30]
    x = images.astype(np.float32) / 255
    expected = combine(*served(client, x), client.app.state.units["digit+gate"].ensemble.temperature)
    for got, p in zip(answers(client, images), expected):
        assert got is not None and got["digit"] == int(p.argmax())
        assert got["confidence"] == pytest.approx(float(p.max()), abs=1e-5)
        assert got["probabilities"] == pytest.approx(p.tolist(), abs=1e-5)
        assert sum(got["probabilities"]) == pytest.approx(1, abs=1e-4)
    assert np.mean(expected.argmax(1) == labels) >= 0.95


def test_with_a_card_fitted_for_other_checkpoints_the_digit_model_answers_alone(tmp_path, mnist_fixture):
    copy_models(tmp_path)
    card = json.loads((tmp_path / CARD).read_text())
    (tmp_path / CARD).write_text(json.dumps({**card, "checkpoints": {**card["checkpoints"], "gate": "0" * 64}}))
    images = mnist_fixture[0][:10]
    with make_client(model_dir=tmp_path) as c:
        assert c.app.state.units["digit+gate"].ensemble is None
        assert "other checkpoints" in c.get("/models").json()["digit_ensemble"]["error"]
        alone = served(c, images.astype(np.float32) / 255)[0]
        for got, p in zip(answers(c, images), alone):
            assert got["probabilities"] == pytest.approx(p.tolist(), abs=1e-5)
