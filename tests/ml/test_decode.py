import torch

from app.ml.constants import DIGIT_SETS
from app.ml.probabilities import decode_sets, overlap_probs, set_index


def test_pair_head_marginals_sum_set_probabilities_of_sets_containing_the_digit():
    logits = torch.randn(5, len(DIGIT_SETS))
    per_digit, set_p = overlap_probs(logits, "pairs", 1.0)
    for d in range(10):
        expected = sum(set_p[:, s] for s, pair in enumerate(DIGIT_SETS) if d in pair)
        assert torch.allclose(per_digit[:, d], expected, atol=1e-6)
    assert torch.allclose(set_p.sum(1), torch.ones(5), atol=1e-5)


def test_decode_picks_the_most_probable_set_and_singles_have_one_digit():
    set_p = torch.zeros(2, len(DIGIT_SETS))
    set_p[0, set_index(7, 2)] = 1.0
    set_p[1, set_index(4, 4)] = 1.0
    assert decode_sets(set_p) == [[2, 7], [4]]


def test_sigmoid_head_set_probabilities_favour_the_confident_digits():
    logits = torch.full((1, 10), -8.0)
    logits[0, 3] = logits[0, 8] = 8.0
    per_digit, set_p = overlap_probs(logits, "sigmoid", 1.0)
    assert per_digit[0, 3] > 0.99 and per_digit[0, 0] < 0.01
    assert decode_sets(set_p) == [[3, 8]]
