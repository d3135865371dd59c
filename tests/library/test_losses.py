import pytest
import torch
from torch import nn

from pytorch_examples.losses import binary_cross_entropy_with_logits, power_loss


def test_power_loss_two_is_mse_and_one_is_mae():
    generator = torch.Generator().manual_seed(0)
    prediction, target = torch.randn(2, 30, generator=generator)
    assert power_loss(prediction, target, 2) == pytest.approx(nn.MSELoss()(prediction, target))
    assert power_loss(prediction, target, 1) == pytest.approx(nn.L1Loss()(prediction, target))


def test_power_loss_weights_outliers_more_as_m_grows():
    target = torch.zeros(4)
    # Same mean absolute error, one residual concentrated in a single outlier.
    spread = torch.ones(4)
    outlier = torch.tensor([4.0, 0.0, 0.0, 0.0])
    assert power_loss(spread, target, 1) == pytest.approx(power_loss(outlier, target, 1))
    assert (
        power_loss(outlier, target, 3)
        > power_loss(outlier, target, 2)
        > power_loss(spread, target, 2)
    )


def test_power_loss_rejects_nonconvex_power_and_shape_mismatch():
    with pytest.raises(ValueError, match="m must be >= 1"):
        power_loss(torch.zeros(3), torch.zeros(3), 0.5)
    with pytest.raises(ValueError, match="same shape"):
        power_loss(torch.zeros(3), torch.zeros(3, 1))


def test_stable_bce_matches_torch_on_ordinary_values():
    generator = torch.Generator().manual_seed(1)
    logits = 4 * torch.randn(100, generator=generator)
    target = (torch.rand(100, generator=generator) > 0.5).float()
    expected = nn.functional.binary_cross_entropy_with_logits(logits, target)
    assert binary_cross_entropy_with_logits(logits, target) == pytest.approx(expected.item())


@pytest.mark.parametrize("z", [-1e4, -200.0, -20.0, 20.0, 200.0, 1e4])
@pytest.mark.parametrize("y", [0.0, 1.0])
def test_stable_bce_stays_finite_where_the_naive_form_breaks(z, y):
    logits = torch.tensor([z], requires_grad=True)
    target = torch.tensor([y])
    loss = binary_cross_entropy_with_logits(logits, target)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(logits.grad).all()
    # The exact loss is log(1 + e^z) - y z: |z| for a confident wrong answer, ~0 otherwise.
    wrong = (z > 0) != (y == 1.0)
    assert loss.item() == pytest.approx(abs(z) if wrong else 0.0, abs=1e-6)
