"""The digit route's combination of the digit model and the gate's digits (app.ml.ensemble)."""

import json

import numpy as np
import pytest

from app.ml.ensemble import CARD, combine, read_ensemble_card


def gate_probabilities(digits: np.ndarray, p_reject: float = 0.0) -> np.ndarray:
    """(B, 12) gate outputs whose digit part is `digits` scaled to 1 - p_reject."""
    rest = np.full((len(digits), 2), p_reject / 2)
    return np.hstack([digits * (1 - p_reject), rest])


def test_a_gate_without_an_opinion_leaves_the_digit_models_probabilities_as_they_are():
    p_digit = np.random.default_rng(0).dirichlet(np.ones(10), 5)
    uniform = gate_probabilities(np.full((5, 10), 0.1), p_reject=0.3)
    assert combine(p_digit, uniform, temperature=0.5) == pytest.approx(p_digit, abs=1e-6)


def test_a_sure_gate_settles_what_the_digit_model_left_open():
    p_digit = np.array([[0.0] * 3 + [0.48, 0.0, 0.52] + [0.0] * 4]) + 1e-4
    gate = gate_probabilities(np.array([[0.0] * 3 + [0.95, 0.0, 0.05] + [0.0] * 4]) + 1e-4)
    p = combine(p_digit / p_digit.sum(), gate, temperature=1.0)
    assert p.argmax() == 3 and p.sum() == pytest.approx(1.0, abs=1e-6) and p.dtype == np.float32


def test_the_temperature_softens_or_sharpens_the_combination():
    p_digit = np.array([[0.7, 0.3] + [1e-9] * 8])
    gate = gate_probabilities(np.array([[0.6, 0.4] + [1e-9] * 8]))
    soft, sharp = combine(p_digit, gate, 2.0)[0, 0], combine(p_digit, gate, 0.5)[0, 0]
    assert 0.5 < soft < combine(p_digit, gate, 1.0)[0, 0] < sharp < 1.0


SERVED = {"digit": "d" * 64, "gate": "g" * 64, "sum": "s" * 64}


def write(tmp_path, **card):
    (tmp_path / CARD).write_text(json.dumps({"temperature": 1.1, "checkpoints": {"digit": "d" * 64, "gate": "g" * 64},
                                             **card}))


def test_the_card_is_used_only_for_the_checkpoints_it_was_fitted_for(tmp_path):
    write(tmp_path)
    card, ensemble = read_ensemble_card(tmp_path, SERVED)
    assert ensemble is not None and ensemble.temperature == 1.1 and "error" not in card
    card, ensemble = read_ensemble_card(tmp_path, {**SERVED, "gate": "x" * 64})
    assert ensemble is None and "other checkpoints" in card["error"] and card["temperature"] == 1.1


def test_a_missing_or_broken_card_means_the_digit_model_answers_alone(tmp_path):
    card, ensemble = read_ensemble_card(tmp_path, SERVED)
    assert ensemble is None and "missing or unreadable" in card["error"]
    (tmp_path / CARD).write_text("{not json")
    assert read_ensemble_card(tmp_path, SERVED)[1] is None
    write(tmp_path, temperature="warm")
    assert read_ensemble_card(tmp_path, SERVED)[1] is None


def test_it_is_the_geometric_mean_of_the_two_models_softmaxed_at_the_temperature():
    rng = np.random.default_rng(1)
    p_digit, p_gate = rng.dirichlet(np.ones(10), 50), rng.dirichlet(np.ones(12), 50)
    digits = p_gate[:, :10] / p_gate[:, :10].sum(1, keepdims=True)
    z = (np.log(p_digit) + np.log(digits)) / (2 * 1.3)
    expected = np.exp(z - z.max(1, keepdims=True))
    assert combine(p_digit, p_gate, 1.3) == pytest.approx(expected / expected.sum(1, keepdims=True), abs=1e-6)


def test_two_sure_models_that_disagree_split_the_answer_instead_of_failing():
    p = combine(np.eye(10)[[3]], np.hstack([np.eye(10)[[5]], np.zeros((1, 2))]), temperature=1.0)
    assert np.isfinite(p).all() and p[0, 3] == pytest.approx(0.5, abs=1e-4) and p[0, 5] == pytest.approx(0.5, abs=1e-4)
