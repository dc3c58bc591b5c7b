"""A gated task's model and the gate run as one unit (app.services.models.GatedModel): one queue and
one batch per request instead of two, the digit task's combination computed once per batch."""

import re

import numpy as np
import pytest

from app.ml.answers import answers
from app.services.models import GatedModel
from app.services.tasks import TASK_SPECS, queued_models
from support.images import png


def batches(metrics: str, queue: str) -> float:
    found = re.search(rf'digitserve_batch_size_count{{model="{re.escape(queue)}"}} ([\d.]+)', metrics)
    return float(found.group(1)) if found else 0.0


def test_each_gated_task_queues_its_images_with_the_gate_in_one_batcher(client):
    batchers = client.app.state.batchers
    assert {"digit+gate", "sum+gate"} <= set(batchers), "one unit per gated task"
    assert {"digit", "sum", "gate", "overlap"} <= set(batchers), "each model alone (v2 without `rejected`, /predict's pieces)"
    assert [s.queue for s in TASK_SPECS.values()] == ["digit+gate", "overlap", "sum+gate", "digit+gate"], "number glyphs"


def test_an_upload_runs_one_batch_of_the_unit_and_none_of_the_gate_alone(client, mnist_fixture):
    before = client.get("/metrics").text
    for img in mnist_fixture[0][:5]:
        assert client.post("/predict", files={"file": ("d.png", png(img), "image/png")}).status_code == 200
    after = client.get("/metrics").text
    assert 1 <= batches(after, "digit+gate") - batches(before, "digit+gate") <= 5
    assert batches(after, "gate") == batches(before, "gate") and batches(after, "digit") == batches(before, "digit")


def test_the_unit_answers_what_the_model_and_the_gate_answer_each_on_their_own(client, mnist_fixture):
    models, ensemble = client.app.state.store.models, client.app.state.units["digit+gate"].ensemble
    x = mnist_fixture[0][:12].astype(np.float32) / 255
    numbers = np.arange(12, dtype=np.int64) % 10
    for spec, combined in ((TASK_SPECS["digit"], ensemble), (TASK_SPECS["sum"], None)):
        model, gate = models[spec.model], models["gate"]
        pairs = GatedModel(model, gate, combined).predict(x, numbers if spec.takes_number else None)
        outputs = model.runtime(x, numbers if spec.takes_number else None)
        if combined:
            outputs = [combined.combine(outputs[0], gate.runtime(x)[0]), *outputs[1:]]
        expected = answers(spec.model, outputs, numbers if spec.takes_number else None, model.card.threshold)
        alone = gate.predict(x)
        assert len(pairs) == 12
        for (result, verdict), want, own in zip(pairs, expected, alone):
            assert result["digit"] == want["digit"] and result["probabilities"] == pytest.approx(want["probabilities"])
            assert verdict["reason"] == own["reason"] and verdict["p_reject"] == pytest.approx(own["p_reject"])


def test_the_shedding_middleware_checks_the_queue_each_route_uses():
    assert queued_models("/predict") == ("digit+gate",)
    assert queued_models("/predict/overlap") == ("overlap", "gate"), "one pen's ink is put to the gate"
    assert queued_models("/predict/number") == ("digit+gate",), "its glyphs are read as /predict reads one digit"
    assert queued_models("/v2/models/digit/infer") == ("digit+gate", "digit"), "v2 may leave the gate out"
    assert queued_models("/v2/models/sum/versions/1/infer") == ("sum+gate", "sum")
    assert queued_models("/models") is None
