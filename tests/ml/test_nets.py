import pytest
import torch

from app.ml.constants import DIGIT_SETS, GATE_CLASSES
from app.ml.nets import HEADS, build_model, shift_to_sums


@pytest.mark.parametrize("task,arch", sorted(HEADS))
def test_every_registered_architecture_builds_and_has_the_right_outputs(task, arch):
    model = build_model(task, arch).eval()
    x = torch.randn(4, 1, 28, 28)
    if task == "sum":
        digit_logits, sum_logits = model(x, torch.tensor([0, 3, 9, 5]))
        assert digit_logits.shape == (4, 10) and sum_logits.shape == (4, 19)
    elif task == "line":  # a strip of any width: one frame of 11 outputs (10 digits, blank) per 4 columns
        assert model(torch.randn(4, 1, 28, 100)).shape == (4, 25, 11)
    else:
        out = model(x)
        classes = {"pairs": len(DIGIT_SETS)}.get(HEADS[(task, arch)], len(GATE_CLASSES) if task == "gate" else 10)
        assert out.shape == (4, classes)


def test_unknown_architecture_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="choose from"):
        build_model("digit", "transformer")


def test_sum_head_puts_each_digit_logit_at_digit_plus_number():
    digit_logits = torch.randn(3, 10)
    number = torch.tensor([0, 4, 9])
    sums = shift_to_sums(digit_logits, number)
    for row, k in enumerate(number.tolist()):
        assert torch.equal(sums[row, k:k + 10], digit_logits[row])
        assert (sums[row, :k] < -1e3).all() and (sums[row, k + 10:] < -1e3).all()
    # the argmax sum is always the argmax digit plus the number: the sum head cannot be worse
    assert torch.equal(sums.argmax(1), digit_logits.argmax(1) + number)


def test_tta_averages_shifted_copies_and_keeps_each_answer_independent_of_its_batch():
    torch.manual_seed(0)
    plain = build_model("overlap", "cnn").eval()
    tta = build_model("overlap", "cnn", tta_shifts=[[0, 0], [0, 1], [1, 0]]).eval()
    tta.load_state_dict(plain.state_dict())
    x = torch.randn(4, 1, 28, 28)
    from app.ml.nets import shift

    expected = torch.stack([plain(shift(x, dy, dx, x[:, :, :1, :1])) for dy, dx in [(0, 0), (0, 1), (1, 0)]]).mean(0)
    assert torch.allclose(tta(x), expected, atol=1e-5)
    assert torch.allclose(tta(x)[2:3], tta(x[2:3]), atol=1e-5)
    tta.train()
    assert tta(x).shape == (4, 55), "training sees plain inputs"


def test_shift_moves_pixels_and_fills_the_border():
    from app.ml.nets import shift

    x = torch.arange(16.0).view(1, 1, 4, 4)
    down = shift(x, 1, 0, torch.tensor(-1.0)).squeeze()
    assert down[0].tolist() == [-1.0] * 4 and down[1].tolist() == [0.0, 1.0, 2.0, 3.0]
    left = shift(x, 0, -1, torch.tensor(-1.0)).squeeze()
    assert left[:, -1].tolist() == [-1.0] * 4 and left[0, 0] == 1.0
