"""The logistic regression page reaches the maximum-likelihood fit its prose describes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import optimize, special
from torch.nn import functional as F

from pages import GALLERY, run_page
from pytorch_examples.claims import ClaimError

LOGISTIC = GALLERY / "classification" / "plot_logistic_regression.py"


@pytest.fixture(scope="module")
def logistic(gallery_page):
    return gallery_page("classification/plot_logistic_regression.py")


def test_logistic_newton_reference_is_the_maximum_likelihood_fit(logistic):
    # The page measures gradient descent against its own Newton's method; here Newton's
    # answer is measured against a general-purpose optimizer of the same likelihood.
    data = logistic["data"]
    x, y = data.x.double().numpy(), data.y.double().numpy()

    def loss_and_gradient(theta):
        z = theta[0] * x + theta[1]
        residual = special.expit(z) - y
        return np.mean(np.logaddexp(0.0, z) - y * z), [np.mean(residual * x), np.mean(residual)]

    result = optimize.minimize(
        loss_and_gradient, x0=np.zeros(2), jac=True, method="BFGS", options={"gtol": 1e-10}
    )
    assert result.success
    assert logistic["w_ref"] == pytest.approx(result.x[0], abs=1e-5)
    assert logistic["b_ref"] == pytest.approx(result.x[1], abs=1e-5)


def test_logistic_hand_gradient_and_hessian_match_autograd(logistic):
    data = logistic["data"]
    x, y = data.x.double(), data.y.double()

    def loss(theta):
        return F.binary_cross_entropy_with_logits(theta[0] * x + theta[1], y)

    theta = torch.tensor([0.7, -0.4], dtype=torch.float64)
    gradient, hessian = logistic["gradient_and_hessian"](theta)
    expected_gradient = torch.autograd.functional.jacobian(loss, theta)
    expected_hessian = torch.autograd.functional.hessian(loss, theta)
    torch.testing.assert_close(gradient, expected_gradient)
    torch.testing.assert_close(hessian, expected_hessian)


def test_logistic_convergence_check_fails_when_training_stops_early():
    # The page's own check must be able to fail: too few epochs leave w and b short of
    # the maximum-likelihood values.
    with pytest.raises(ClaimError, match=r"within 0\.001 of the maximum-likelihood"):
        run_page(LOGISTIC, N_EPOCHS=20)
