"""The overfitting page's fits solve the least squares problems it states."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def overfitting(gallery_page):
    return gallery_page("regression/plot_overfitting.py")


def test_overfitting_unpenalized_fit_matches_a_well_conditioned_basis(overfitting):
    # Legendre polynomials span the same space as the monomials and are far better
    # conditioned on [-1, 1], so their least squares fit is an accurate float64
    # reference for the fitted values. The normal equations miss it by about 0.2.
    degree = overfitting["HIGH_DEGREE"]
    train_x, train_y = overfitting["train_x"], overfitting["train_y"]
    t = 2 * train_x - 1
    legendre = torch.stack(
        [torch.special.legendre_polynomial_p(t, n) for n in range(degree + 1)], dim=1
    )
    coefficients = torch.linalg.lstsq(legendre, train_y.unsqueeze(1)).solution.squeeze(1)
    reference = legendre @ coefficients
    fitted = overfitting["design"](train_x, degree) @ overfitting["fit"](degree)
    torch.testing.assert_close(fitted, reference, rtol=0, atol=1e-6)


@pytest.mark.parametrize("penalty", [1e-6, 1e-4, 1e-2, 1.0])
def test_overfitting_penalized_fit_solves_the_penalized_normal_equations(overfitting, penalty):
    # With a penalty the normal equations are well enough conditioned to serve as a
    # float64 reference for the stacked least squares problem.
    degree = overfitting["HIGH_DEGREE"]
    features = overfitting["design"](overfitting["train_x"], degree)
    n = len(features)
    penalty_matrix = penalty * torch.diag(torch.tensor([0.0] + [1.0] * degree)).double()
    lhs = features.T @ features / n + penalty_matrix
    rhs = features.T @ overfitting["train_y"] / n
    reference = torch.linalg.solve(lhs, rhs)
    torch.testing.assert_close(overfitting["fit"](degree, penalty), reference, rtol=1e-6, atol=0)


def test_overfitting_design_and_loss_on_a_hand_computed_case(overfitting):
    # The design rescales x in [0, 1] to t = 2x - 1 in [-1, 1]: columns 1, t, t^2.
    design, mse = overfitting["design"], overfitting["mse"]
    inputs = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    expected = [[1.0, -1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]
    assert design(inputs, 2).tolist() == expected
    # 1 + 2t at t = -1, 0, 1 is -1, 1, 3; against targets 0 the mean square is 11 / 3.
    weights = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert mse(weights, inputs, torch.zeros(3, dtype=torch.float64)) == pytest.approx(11 / 3)
