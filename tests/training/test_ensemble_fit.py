"""`python -m training.ensemble`: fits the digit route's combination and writes a card the service uses."""

import json

import numpy as np
import pytest

from app.ml.ensemble import CARD, combine
from tests.utils import copy_models, make_client
from training import ensemble


def test_fit_temperature_recovers_the_temperature_that_made_the_labels():
    rng = np.random.default_rng(0)
    p_digit = rng.dirichlet(np.full(10, 0.3), 4000)
    p_gate = np.hstack([rng.dirichlet(np.full(10, 0.3), 4000), np.zeros((4000, 2))])
    truth = combine(p_digit, p_gate, 1.6)
    labels = np.array([rng.choice(10, p=row / row.sum()) for row in truth.astype(np.float64)])
    assert ensemble.fit_temperature(p_digit, p_gate, labels) == pytest.approx(1.6, rel=0.1)


def test_a_small_run_writes_a_card_for_the_served_checkpoints_and_the_service_uses_it(tmp_path, mnist_data_dir):
    models = tmp_path / "models"
    models.mkdir()
    copy_models(models)
    (models / CARD).unlink()
    ensemble.main(["--model-dir", str(models), "--reports", str(tmp_path / "reports"), "--data-dir", str(mnist_data_dir),
                   "--limit", "300"])
    card = json.loads((models / CARD).read_text())
    assert card == json.loads((tmp_path / "reports" / "ensemble" / "metrics.json").read_text())
    assert 0.25 < card["temperature"] < 4 and card["test"]["combined"]["n"] == 300
    with make_client(model_dir=models) as c:
        shas = {m["name"]: m["sha256"] for m in c.get("/models").json()["models"]}
        assert card["checkpoints"] == {"digit": shas["digit"], "gate": shas["gate"]}
        assert c.app.state.units["digit+gate"].ensemble.temperature == card["temperature"]
