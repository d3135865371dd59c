"""The basics, regression and classification pages compute what their prose claims.

Each test runs a page in-process through :func:`pages.run_page`, with smaller settings
where the page trains, and checks a property of its namespace against an independent
reference.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from pages import GALLERY, run_page
from pytorch_examples.claims import ClaimError
from pytorch_examples.evaluation import evaluate

LOGISTIC = GALLERY / "classification" / "plot_logistic_regression.py"
OVERFITTING = GALLERY / "regression" / "plot_overfitting.py"
DIGITS = GALLERY / "classification" / "plot_digits_mlp.py"
AUTOGRAD = GALLERY / "basics" / "plot_autograd.py"


@pytest.fixture(scope="module")
def logistic():
    return run_page(LOGISTIC)


def test_logistic_fit_reaches_the_newton_reference(logistic):
    assert logistic["newton_gradient_norm"] < 1e-12
    assert logistic["w_fit"] == pytest.approx(logistic["w_ref"], abs=1e-3)
    assert logistic["b_fit"] == pytest.approx(logistic["b_ref"], abs=1e-3)


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


@pytest.fixture(scope="module")
def overfitting():
    return run_page(OVERFITTING)


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
    fitted = overfitting["design"](train_x, degree) @ overfitting["fits"][degree]
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


def test_overfitting_scores_the_test_set_with_the_validation_choice(overfitting):
    chosen = overfitting["chosen"]
    val = overfitting["candidate_val"]
    assert val[chosen] == min(val.values())
    assert overfitting["test_loss"] > 0


@pytest.fixture(scope="module")
def digits():
    # The page as written: its early stopping decides how long each model trains.
    return run_page(DIGITS)


def test_digits_models_stop_patience_epochs_after_their_best_and_are_restored(digits):
    data, patience = digits["data"], digits["PATIENCE"]
    for name, model in digits["models"].items():
        history = digits["histories"][name]["validation loss"]
        best = digits["best_epochs"][name]
        assert len(history) == best + patience
        assert history[best - 1] == min(history)
        assert min(history[best:]) > history[best - 1]
        restored = evaluate(model, data.val_x, data.val_y).loss
        assert restored == pytest.approx(min(history), rel=1e-6)


def test_digits_paired_comparison_is_of_the_restored_models_on_validation(digits):
    data = digits["data"]
    losses, right = {}, {}
    for name, model in digits["models"].items():
        scored = evaluate(model, data.val_x, data.val_y)
        with torch.no_grad():
            logits = model(data.val_x).double()
        losses[name] = F.cross_entropy(logits, data.val_y, reduction="none")
        assert losses[name].mean().item() == pytest.approx(scored.loss, rel=1e-5)
        right[name] = scored.predictions == data.val_y
    differences = losses["MLP"] - losses["softmax regression"]
    n = len(differences)
    loss_gap = digits["loss_gap"]
    assert loss_gap.difference == pytest.approx(differences.mean().item(), abs=1e-6)
    standard_error = differences.std().item() / math.sqrt(n)
    assert loss_gap.standard_error == pytest.approx(standard_error, rel=1e-4)
    only_mlp = (right["MLP"] & ~right["softmax regression"]).sum().item()
    only_softmax = (right["softmax regression"] & ~right["MLP"]).sum().item()
    assert digits["accuracy_gap"].difference == pytest.approx((only_mlp - only_softmax) / n)


def test_digits_page_refuses_a_budget_that_stops_training_at_the_limit():
    # The page's first check must be able to fail: with the old fixed budget of 40
    # epochs, training ends at the limit rather than where validation stops improving.
    with pytest.raises(ClaimError, match="stopped improving, before the limit"):
        run_page(DIGITS, MAX_EPOCHS=40)


def test_digits_recipe_is_retrained_on_training_and_validation_data(digits):
    data, chosen = digits["data"], digits["chosen"]
    n_images = len(data.train_y) + len(data.val_y)
    assert len(digits["train_and_val_y"]) == n_images
    steps = digits["best_epochs"][chosen] * math.ceil(n_images / digits["BATCH_SIZE"])
    for state in digits["final_optimizer"].state.values():
        assert int(state["step"]) == steps


def test_digits_test_set_is_scored_for_the_retrained_model_only(digits):
    data = digits["data"]
    expected = evaluate(digits["final_model"], data.test_x, data.test_y)
    assert torch.equal(digits["test"].predictions, expected.predictions)
    assert digits["test"].accuracy == expected.accuracy


def test_autograd_gradcheck_inputs_are_seeded():
    first, second = run_page(AUTOGRAD), run_page(AUTOGRAD)
    assert torch.equal(first["a"], second["a"])
    assert torch.equal(first["b"], second["b"])
